#!/usr/bin/env bash
# make bench step: server instructions per resumed handshake, sessnic vs OpenSSL's internal
# cache, counted by callgrind (bench/openssl/resume_instructions.py; docs/openssl.md,
# "Benchmark"). Writes $SESSNIC_BENCH_PARTS/openssl_instructions.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 bench/openssl/resume_instructions.py "${1:-build}"
