#!/usr/bin/env bash
# Installs the Debian 12 packages qembed builds with, if any is missing (needs root or sudo).
#   tools/install-deps.sh            native build, tests, benchmarks
#   tools/install-deps.sh --aarch64  also the aarch64 cross toolchain and qemu-user
#   tools/install-deps.sh --fuzz     also clang and its libFuzzer runtime (the fuzz preset)
set -euo pipefail
packages=(cmake make g++ libhalide14-0-dev libgtest-dev libbenchmark-dev)
for arg in "$@"; do
  case $arg in
    --aarch64) packages+=(g++-aarch64-linux-gnu qemu-user) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "usage: $0 [--aarch64] [--fuzz]" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q "${missing[@]}"
