#!/usr/bin/env bash
# libsessnic as installed: `cmake --install` into a temp prefix, the C test built from
# only the installed header through pkg-config (and once through find_package), the
# exported symbols and soname checked, then run on a generated two-server cluster.
#   capi_install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/sessnic-capi.XXXXXX)
card_pids=()
cleanup() {
  for p in "${card_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
lib=$prefix/lib/libsessnic.so
for f in "$lib" "$prefix/include/sessnic/sessnic.h" "$prefix/lib/pkgconfig/sessnic.pc" \
         "$prefix/lib/cmake/sessnic/sessnicConfig.cmake" "$prefix/bin/sessnic" "$prefix/bin/sessnic-server" \
         "$prefix/bin/sessnic-dispatch" "$prefix/bin/sessnic-card"; do
  [ -e "$f" ] || { echo "not installed: $f"; exit 1; }
done
[ -z "$(ls "$prefix/include/sessnic")" ] || [ "$(ls "$prefix/include/sessnic")" = sessnic.h ] \
  || { echo "include tree holds more than sessnic.h: $(ls "$prefix/include/sessnic")"; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libsessnic.so.1 ] || { echo "soname is '$soname', want libsessnic.so.1"; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRW]/ {print $3}' | sed 's/@.*//' | sort -u)
others=$(echo "$exported" | grep -v '^sessnic_' | grep -v '^SESSNIC_1$' || true)
[ -z "$others" ] || { echo "libsessnic exports more than the C API:"; echo "$others" | head; exit 1; }
echo "exports: $(echo "$exported" | grep -c '^sessnic_') sessnic_* symbols, soname $soname"

# The installed nginx module (when nginx-dev was there) finds the installed library.
module=$prefix/lib/nginx/modules/ngx_http_sessnic_module.so
if [ -e "$module" ]; then
  readelf -d "$module" | grep -q 'RUNPATH.*\$ORIGIN/\.\./\.\.' || { echo "nginx module: no \$ORIGIN/../.. run path"; exit 1; }
  [ -e "$(dirname "$module")/../../libsessnic.so.1" ] || { echo "nginx module: libsessnic.so.1 not at \$ORIGIN/../.."; exit 1; }
  echo "nginx module installed, run path \$ORIGIN/../.. -> $prefix/lib"
fi

# Built as C from the installed header only, through pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -x c -std=c11 -Wall -Wextra -Werror -pedantic -o "$work/capi_resume" "$src/tests/capi/capi_resume.c" \
  $(pkg-config --cflags --libs sessnic) -Wl,-rpath,"$prefix/lib"
# And through the CMake package.
cmake -S "$src/tests/capi/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCAPI_SOURCE="$src/tests/capi/capi_resume.c" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/capi_resume_cmake" version

# The cluster: a key from the installed `sessnic keygen`, a throwaway certificate, free
# loopback ports (UDP for the backplane), two servers in replicate mode.
"$prefix/bin/sessnic" keygen "$work/cluster.key" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=capi.test \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
read -r p0 p1 p2 t1 t2 < <(python3 -c '
import socket
ss=[socket.socket(socket.AF_INET, k) for k in [socket.SOCK_DGRAM] * 3 + [socket.SOCK_STREAM] * 2]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
mkdir -p "$work/content"
cluster() {  # cluster KEY_FILE
  cat <<TOML
[cluster]
key_file = "$1"
cert = "$work/cert.pem"
key = "$work/key.pem"
session_context = "capi-test"
[backplane]
mode = "replicate"
[dispatcher]
listen = "127.0.0.1:0"
metrics = "127.0.0.1:0"
card = 0
backplane = "127.0.0.1:$p0"
[[server]]
name = "a"
card = 1
listen = "127.0.0.1:$t1"
backplane = "127.0.0.1:$p1"
content = "$work/content"
[[server]]
name = "b"
card = 2
listen = "127.0.0.1:$t2"
backplane = "127.0.0.1:$p2"
content = "$work/content"
[[route]]
default = true
servers = ["a", "b"]
TOML
}
cluster "$work/cluster.key" > "$work/cluster.toml"
cluster "$work/missing.key" > "$work/missing-key.toml"
cp "$work/cluster.key" "$work/open.key" && chmod 0644 "$work/open.key"
cluster "$work/open.key" > "$work/open-key.toml"

# Server a on the Verilated card: refused in the process, fine through a card service.
awk '/^name = "a"/ { print; print "device = \"verilator\""; next } { print }' "$work/cluster.toml" > "$work/verilator.toml"
awk -v w="$work" '/^name = "a"/ { print; print "card_service = \"" w "/run-v/card.sock\""; next } { print }' \
  "$work/verilator.toml" > "$work/verilator-service.toml"

timeout 60 "$work/capi_resume" "$work/cluster.toml" "$work/cert.pem" "$work/key.pem" \
  "$work/missing-key.toml" "$work/open-key.toml" "$work/verilator.toml" "$work/verilator-service.toml"

# The same library reaching each server's card through its host's card service
# (installed sessnic-card, [[server]] card_service); server c's service is not running.
read -r t3 < <(python3 -c '
import socket
s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
awk -v w="$work" '
  /^name = "a"/ { print; print "card_service = \"" w "/run-a/card.sock\""; next }
  /^name = "b"/ { print; print "card_service = \"" w "/run-b/card.sock\""; next }
  { print }' "$work/cluster.toml" > "$work/service.toml"
cat >> "$work/service.toml" <<TOML
[[server]]
name = "c"
card = 3
listen = "127.0.0.1:$t3"
content = "$work/content"
card_service = "$work/run-c/card.sock"
TOML
for s in a b; do
  "$prefix/bin/sessnic-card" --config "$work/service.toml" --server "$s" 2>"$work/card-$s.log" &
  card_pids+=($!)
done
for s in a b; do
  for _ in $(seq 100); do [ -S "$work/run-$s/card.sock" ] && break; sleep 0.05; done
  [ -S "$work/run-$s/card.sock" ] || { echo "sessnic-card $s did not start:"; cat "$work/card-$s.log"; exit 1; }
done
timeout 60 "$work/capi_resume" service "$work/service.toml" "$work/cert.pem" "$work/key.pem"
