#!/usr/bin/env bash
# Builds ngx_http_sessnic_module.so as Debian builds nginx modules (dh_nginx): a copy of
# nginx-dev's source tree (/usr/share/nginx/src), nginx's ./configure with the flags the
# packaged nginx was built with (conf_flags) plus --add-dynamic-module, then `make modules`.
#   build_module.sh NGINX_SRC BUILD_DIR MODULE_DIR SESSNIC_INCLUDE_DIR SESSNIC_LIB_DIR
# The module's run path: the build tree's libsessnic, then $ORIGIN/../.. (installed as
# PREFIX/lib/nginx/modules/, next to PREFIX/lib/libsessnic.so.1).
set -euo pipefail
ngx_src=$1 build=$2 module=$3 inc=$4 libdir=$5
stamp=$build/.configured
want=$(cat "$0" "$module/config" "$ngx_src/conf_flags" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$build"
  mkdir -p "$build"
  cp -a "$ngx_src/." "$build/"
  # shellcheck disable=SC1091
  . "$ngx_src/conf_flags"
  (cd "$build" && ./configure "${NGX_CONF_FLAGS[@]}" \
      --with-cc-opt="-I$inc -fPIC" --with-ld-opt="-L$libdir -Wl,-rpath,$libdir -Wl,-rpath,\\\$\$ORIGIN/../.." \
      --add-dynamic-module="$module" >configure.log 2>&1) \
    || { tail -20 "$build/configure.log"; exit 1; }
  echo "$want" > "$stamp"
fi
make -s -C "$build" -f objs/Makefile modules
