#!/usr/bin/env bash
# bootstrap.sh — install, with apt-get, the Debian 12 packages quern needs
# that are missing. Idempotent; does nothing when everything is present.
# Node packages for the Parquet interop tests (DuckDB) are installed into the
# git-ignored tests/node/node_modules by scripts/setup-node.sh.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libhdf5-dev hdf5-tools libjansson-dev libxxhash-dev libcairo2-dev
  libzstd-dev libsnappy-dev liblz4-dev libbrotli-dev zlib1g-dev
  libisal-dev libhighwayhash-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  python3-dev python3-numpy python3-h5py python3-scipy python3-xxhash python3-protobuf python3-crc32c
  time strace nodejs npm
  openmpi-bin libopenmpi-dev
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian (a machine image's own node).
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
