#!/usr/bin/env bash
# Installs everything sessnic needs on a fresh Debian 12 machine.
# Idempotent and quiet when already done: it checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache
  libssl-dev openssl curl iproute2
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libasio-dev
  libhttp-parser-dev
  # sessnic-server's allocator (docs/server.md, "Memory allocator")
  libtcmalloc-minimal4
  libsystemc-dev
  verilator iverilog yosys zlib1g-dev
  clang libclang-rt-14-dev
  python3-venv
  pybind11-dev python3-dev
  nginx-dev nginx-core
  libxrt-dev uuid-dev
  libhiredis-dev redis-server redis-tools
  # make bench-peers: apache2-bin is httpd + its modules without the system service
  haproxy apache2-bin memcached
  # make bench: instructions per resumed handshake (scripts/bench.d/resume_instructions.sh)
  valgrind
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python virtualenv for cocotb benches, PeakRDL and the wire-format generator.
VENV=.venv
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "deps: creating Python virtualenv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$STAMP"
fi
