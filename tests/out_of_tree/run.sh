#!/usr/bin/env bash
# Installs the node into a temporary prefix, builds tests/out_of_tree/hello
# against the installed plugin API package only, drops libhello.so into a
# plugin folder, adds three lines to a node.yaml and checks that the node
# serves the plugin's route. tests/out_of_tree/notes, built the same way with
# the package's sqlite component, keeps what is POSTed in a SQLite file.
# Usage: run.sh <build dir> <source dir>
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/out_of_tree/hello" -B "$work/hello-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/hello-build" >/dev/null
# The hello plugin needs no SQLite: its build must not have looked for it.
if grep -q SQLite3 "$work/hello-build/CMakeCache.txt"; then echo "the hello plugin's build looked for SQLite"; exit 1; fi
cmake -S "$source_dir/tests/out_of_tree/notes" -B "$work/notes-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/notes-build" >/dev/null
mkdir -p "$work/plugins"
cp "$work/hello-build/libhello.so" "$work/notes-build/libnotes.so" "$work/plugins/"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/node.yaml" <<YAML
node:
  data_dir: data
  plugin_dir: [plugins]
server:
  listen: 127.0.0.1
  port: $port
plugins:
  - name: hello
    config:
      greeting: hello from a plugin
  - name: notes
YAML

# The plugin reports the API version of the headers it was built against.
api_header="$work/prefix/include/eventnode/plugin/api_version.hpp"
api="$(grep -oP 'kApiVersionMajor = \K[0-9]+' "$api_header").$(grep -oP 'kApiVersionMinor = \K[0-9]+' "$api_header")"
"$work/prefix/bin/eventnode" --config "$work/node.yaml" --list-plugins | grep -q "^hello	1.0.0	$api	yes	.*libhello.so"
"$work/prefix/bin/eventnode" --config "$work/node.yaml" > "$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 100); do
  if answer=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/hello', timeout=2).read().decode())" 2>/dev/null); then
    break
  fi
  sleep 0.1
done
echo "GET /hello -> ${answer:-nothing}"
[ "${answer:-}" = '{"greeting":"hello from a plugin"}' ] || { cat "$work/node.log"; exit 1; }
post() { python3 -c "import urllib.request; print(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$port/notes', data=b'$1'), timeout=2).read().decode())"; }
post first >/dev/null
notes=$(post second)
echo "POST /notes twice -> $notes"
[ "$notes" = '{"notes":2}' ] || { cat "$work/node.log"; exit 1; }
kill -TERM "$node_pid"
wait "$node_pid"
node_pid=""
find "$work" -name notes.sqlite -path "*data*" | grep -q . || { echo "no notes.sqlite under the data dir"; exit 1; }
echo "out-of-tree plugins: OK"
