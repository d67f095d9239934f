#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the root) over the core's and the plugins'
# sources, tests excluded, with the release build's compile_commands.json.
# Exits non-zero on any finding. About 7 minutes on 2 cores.
# usage: tools/clang_tidy.sh [BUILD_DIR]        (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[[ -f $build/compile_commands.json ]] || { echo "no $build/compile_commands.json: cmake --preset release first" >&2; exit 2; }
mapfile -t files < <(git ls-files 'core/src/*.cpp' 'plugins/*.cpp' core/app/main.cpp | grep -v '_test\.cpp$')
run-clang-tidy -p "$build" -j "$(nproc)" -quiet "${files[@]}"
