#!/usr/bin/env bash
# make bench step (also `make bench-peers`): the peer benchmark of issue 14 (docs/benchmarks.md,
# "Peers"). HAProxy -> 3 nginx, HAProxy -> 3 Apache mod_ssl + memcached, sessnic-dispatch -> 3
# sessnic-server (transfer), HAProxy -> 3 sessnic-server (replicate), all on loopback, driven by
# one neutral OpenSSL client (bench/peers/peer_client.cpp); writes $SESSNIC_BENCH_PARTS/peers.json
# and the charts build/bench/peers_*.png (scripts/plot_bench.py).
# Longer runs: PEERS_ARGS="--reps 5 --sat-seconds 20 --change-samples 500" make bench-peers
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
# shellcheck disable=SC2086  # PEERS_ARGS is a list of flags
python3 bench/peers/run_peers.py "$BUILD" ${PEERS_ARGS:-}
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
"$PY" scripts/plot_bench.py "$BUILD"
