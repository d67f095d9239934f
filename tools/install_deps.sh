#!/usr/bin/env bash
# Installs the Debian packages eventnode needs to build, test and run, and
# only those that are missing. Runs apt-get as root, or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libpoco-dev libsqlite3-dev libssl-dev libboost-dev libboost-filesystem-dev
  libyaml-cpp-dev libspdlog-dev nlohmann-json3-dev libjemalloc-dev libsodium-dev
  googletest libgtest-dev libgmock-dev
  python3 python3-websockets python3-cryptography openssl curl
  redis-server libhiredis-dev
  clang-14 libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "missing packages and no root or sudo to install them: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
