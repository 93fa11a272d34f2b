#!/usr/bin/env bash
# Installs the Debian 12 packages evbus builds and tests with. Idempotent:
# does nothing (and asks no mirror) when everything is installed already.
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev rocksdb-tools
  libabsl-dev prometheus-cpp-dev libcurl4-openssl-dev libsimdjson-dev
  nlohmann-json3-dev libcpp-httplib-dev uuid-dev libyaml-cpp-dev libssl-dev
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev python3 python3-aiosmtpd python3-yaml nodejs curl openssl prometheus
  clang clang-format libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
