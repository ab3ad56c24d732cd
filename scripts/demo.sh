#!/usr/bin/env bash
# The main job (docs/demo.md): a dispatcher and three servers (flights, cars, hotels) on
# loopback with model cards on the UDP backplane; the travel scenario with real TLS
# clients, first with sharing off, then on, side by side; then openssl s_client and curl.
# Everything it starts, it stops. Usage: [DEVICE=model|verilator] scripts/demo.sh [BUILD_DIR]
# DEVICE=verilator: every server's card is the Verilated RTL card (sessnic_top) behind the
# same UDP backplane pump (docs/rtl.md "The verilator device").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
SESSNIC=$BUILD/host/cli/sessnic
DISPATCH=$BUILD/host/dispatch/sessnic-dispatch
TRAVEL=$BUILD/host/workload/sessnic-travel
for b in "$SESSNIC" "$DISPATCH" "$BUILD/host/server/sessnic-server" "$TRAVEL"; do
  [ -x "$b" ] || { echo "demo: $b is missing - run 'make build' first" >&2; exit 1; }
done

# Ports: a block of free loopback ports (TCP and UDP), so the demo never collides.
port_free() { ! ss -Htan "sport = :$1" | grep -q . && ! ss -Huan "sport = :$1" | grep -q .; }
BASE=""
for try in $(seq 28400 40 31000); do
  ok=1
  for p in $(seq "$try" $((try + 12))); do port_free "$p" || { ok=0; break; }; done
  if [ $ok = 1 ]; then BASE=$try; break; fi
done
[ -n "$BASE" ] || { echo "demo: no free port block found" >&2; exit 1; }
ON=$BASE OFF=$((BASE + 1)) MON=$((BASE + 2)) MOFF=$((BASE + 3))

WORK=$(mktemp -d /tmp/sessnic-demo-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM  # Ctrl-C: run cleanup via EXIT

# The demo's cluster: examples/travel.toml with free ports and a throwaway key + cert.
CFG=$WORK/travel.toml
sed -e "s#\"../build/travel/#\"$WORK/#" \
    -e "s#\"travel/#\"$ROOT/examples/travel/#" \
    -e "s/127.0.0.1:18441/127.0.0.1:$((BASE + 4))/; s/127.0.0.1:18442/127.0.0.1:$((BASE + 5))/; s/127.0.0.1:18443/127.0.0.1:$((BASE + 6))/" \
    -e "s/127.0.0.1:18500/127.0.0.1:$((BASE + 7))/; s/127.0.0.1:18501/127.0.0.1:$((BASE + 8))/" \
    -e "s/127.0.0.1:18502/127.0.0.1:$((BASE + 9))/; s/127.0.0.1:18503/127.0.0.1:$((BASE + 10))/" \
    -e "s/127.0.0.1:8443/127.0.0.1:$ON/; s/127.0.0.1:9443/127.0.0.1:$MON/" \
    examples/travel.toml > "$CFG"
DEVICE=${DEVICE:-model}
case "$DEVICE" in
  model) ;;
  verilator)
    # Each [[server]] gets a Verilated card. A simulated card runs about 150,000 cycles a
    # second (a real one 250 million) and holds one TRANSFER in flight at a time (the
    # RTL's limit; the HLS card holds 64), so the dispatcher's bounded wait for a move
    # gets 1 s instead of 5 ms.
    sed -i -e 's/^\[\[server\]\]$/[[server]]\ndevice = "verilator"/' \
        -e 's/^transfer_deadline_us = .*/transfer_deadline_us = 1000000/' "$CFG" ;;
  *) echo "demo: DEVICE must be model or verilator, not '$DEVICE'" >&2; exit 2 ;;
esac

echo "== sessnic demo: the travel site on loopback (ports $BASE..$((BASE + 10)), $DEVICE cards, files in $WORK)"
"$SESSNIC" cluster up "$CFG" > "$WORK/cluster.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do grep -q "cluster: up" "$WORK/cluster.log" && break; sleep 0.1; done
grep -q "cluster: up" "$WORK/cluster.log" || { cat "$WORK/cluster.log"; echo "demo: cluster did not start" >&2; exit 1; }
sed 's/^/   /' "$WORK/cluster.log"
# The baseline: a second dispatcher over the same servers with sharing off (FIG. 2/3).
"$DISPATCH" --config "$CFG" --no-share --listen "127.0.0.1:$OFF" --metrics "127.0.0.1:$MOFF" > "$WORK/dispatch-off.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do port_free "$OFF" || break; sleep 0.1; done
sed 's/^/   /' "$WORK/dispatch-off.log"

for tls in 1.2 1.3; do
  "$TRAVEL" --off "127.0.0.1:$OFF" --on "127.0.0.1:$ON" --clients 20 --tls "$tls"
done

echo
echo "== Real clients through the dispatcher (sharing on: port $ON, off: port $OFF)"
req() { printf 'GET /book.json HTTP/1.0\r\n\r\n'; }
for v in tls1_2 tls1_3; do
  for mode in on off; do
    port=$ON; [ $mode = off ] && port=$OFF
    rm -f "$WORK/sess.pem"
    a=$(req | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername flights.travel.test -$v -sess_out "$WORK/sess.pem" -ign_eof 2>/dev/null | grep -E '^(New|Reused),' | cut -d, -f1)
    b=$(req | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername cars.travel.test -$v -sess_in "$WORK/sess.pem" -ign_eof 2>/dev/null | grep -E '^(New|Reused),' | cut -d, -f1)
    printf '   openssl s_client -%s  sharing %-3s: flights -sess_out -> %-6s  cars -sess_in -> %s\n' "$v" "$mode" "$a" "$b"
  done
done
for mode in on off; do
  port=$ON; [ $mode = off ] && port=$OFF
  out=$(curl -sk --max-time 10 --resolve "www.travel.test:$port:127.0.0.1" -H 'Connection: close' -D - \
        -o /dev/null -o /dev/null -o /dev/null \
        "https://www.travel.test:$port/" "https://www.travel.test:$port/" "https://www.travel.test:$port/" | tr -d '\r')
  servers=$(echo "$out" | awk -F': ' '/^X-Sessnic-Server/ {print $2}' | paste -sd' ')
  kinds=$(echo "$out" | awk -F': ' '/^X-Sessnic-Handshake/ {print $2}' | paste -sd' ')
  printf '   curl, 3 URLs of www.travel.test, sharing %-3s: servers [%s], handshakes [%s]\n' "$mode" "$servers" "$kinds"
done

echo
echo "== Dispatcher metrics, sharing on (sessnic stats)"
"$SESSNIC" stats --endpoint "127.0.0.1:$MON" | sed 's/^/   /'
echo "== Dispatcher metrics, sharing off"
"$SESSNIC" stats --endpoint "127.0.0.1:$MOFF" | sed 's/^/   /'
echo "== The sharing dispatcher's access log (the last curl: one line per connection)"
grep ' sessnic-dispatch: access ' "$WORK/cluster.log" | tail -3 | sed 's/^/   /'
echo
echo "== Stopping everything the demo started"
