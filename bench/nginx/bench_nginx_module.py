#!/usr/bin/env python3
"""nginx + ngx_http_sessnic_module against sessnic-server, same scenario, same run.

Scenario: three servers behind sessnic-dispatch on loopback (replicate backplane); a
TLS 1.3 client makes a chain of connections, each offering the session of the previous
one; the dispatcher spreads consecutive connections, so each lands on another server.
Measured per connection: connect + handshake + one small GET, client side.

Figures (flat JSON to $SESSNIC_BENCH_PARTS/nginx_module.json):
  nginx_module_resume_rate                    resumed / server changes, nginx + module (goal 1.0)
  nginx_module_change_p50_us                  p50 of a resumed connection on a server change, nginx
  nginx_module_sessnic_server_change_p50_us   the same with three sessnic-server
  nginx_module_change_p50_ratio_sessnic_server  the first p50 / the second
  nginx_module_cardsvc_resume_rate            the nginx scenario with 4 workers per nginx, each
                                              nginx's workers sharing its host's card service
  nginx_module_cardsvc_change_p50_us          p50 of a resumed change in that set-up
  nginx_module_cardsvc_change_p50_ratio       that p50 / the in-process nginx p50 (same run)

    bench_nginx_module.py BUILD_DIR NGINX_MODULE_SO [CONNECTIONS]
"""
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "nginx"))
from nginx_cluster import Cluster, port_open, wait_for  # noqa: E402


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def one(ctx, port, session):
    """Returns (server answer, resumed, session, seconds)."""
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="www.travel.test", session=session)
    s.sendall(b"GET / HTTP/1.0\r\nHost: www.travel.test\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    elapsed = time.perf_counter() - t0
    body = data.partition(b"\r\n\r\n")[2].decode(errors="replace").split()
    resumed, sess = s.session_reused, s.session
    s.close()
    return (body[0] if body else None), resumed, sess, elapsed


def chain(port, n):
    """Returns (server changes, resumed changes, latencies of resumed changes)."""
    ctx = client_ctx()
    server, _, sess, _ = one(ctx, port, None)
    changes = resumed_changes = 0
    lat = []
    for _ in range(n):
        nxt, resumed, new_sess, elapsed = one(ctx, port, sess)
        if nxt != server:
            changes += 1
            if resumed:
                resumed_changes += 1
                lat.append(elapsed)
        server, sess = nxt, new_sess
    return changes, resumed_changes, lat


def sessnic_server_cluster(c):
    """Replaces the nginx instances of `c`'s config with sessnic-server processes (same
    cluster config: same ports, cards and backplane), then starts the dispatcher."""
    for n in c.names:
        content = c.dir / f"content-{n}"
        content.mkdir()
        (content / "index.html").write_text(f"{n} -\n")
    text = c.cluster.read_text()
    for n in c.names:
        text = text.replace(f'name = "{n}"\n', f'name = "{n}"\nthreads = 1\n', 1)
    cfg = c.dir / "cluster-server.toml"
    cfg.write_text(text)
    # Each [[server]] keeps one content line; point it at the server's own directory.
    lines, current = [], None
    for line in cfg.read_text().splitlines():
        if line.startswith("name = "):
            current = line.split('"')[1]
        if line.startswith("content = ") and current:
            line = f'content = "{c.dir / ("content-" + current)}"'
        lines.append(line)
    cfg.write_text("\n".join(lines) + "\n")
    procs = []
    for n in c.names:
        log = open(c.dir / f"server-{n}.log", "w")
        procs.append(subprocess.Popen([str(c.build / "host/server/sessnic-server"), "--config", str(cfg), "--name", n],
                                      stdout=log, stderr=subprocess.STDOUT))
    for n in c.names:
        wait_for(lambda n=n: port_open(c.ports[n]), 15, f"sessnic-server {n}")
    log = open(c.dir / "dispatch-server.log", "w")
    procs.append(subprocess.Popen([str(c.build / "host/dispatch/sessnic-dispatch"), "--config", str(cfg)], stdout=log,
                                  stderr=subprocess.STDOUT))
    wait_for(lambda: port_open(c.dispatch_port), 10, "sessnic-dispatch")
    return procs


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def p50_us(lat):
    return statistics.median(lat) * 1e6 if lat else 0.0


def main():
    build, module = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    with Cluster(build, module) as c:
        changes, resumed, lat_nginx = chain(c.dispatch_port, n)
        # Same cluster config, ports and cards: stop nginx and the dispatcher, run sessnic-server.
        c.stop_processes()
        procs = sessnic_server_cluster(c)
        try:
            s_changes, s_resumed, lat_server = chain(c.dispatch_port, n)
        finally:
            stop(procs)
    # The same chain with every nginx on 4 workers and its host's card service (sessnic-card).
    with Cluster(build, module, workers=4, card_service=True) as c:
        v_changes, v_resumed, lat_svc = chain(c.dispatch_port, n)
    figures = {
        "nginx_module_resume_rate": resumed / changes if changes else 0.0,
        "nginx_module_change_p50_us": p50_us(lat_nginx),
        "nginx_module_sessnic_server_change_p50_us": p50_us(lat_server),
        "nginx_module_change_p50_ratio_sessnic_server":
            p50_us(lat_nginx) / p50_us(lat_server) if lat_server else 0.0,
        "nginx_module_cardsvc_resume_rate": v_resumed / v_changes if v_changes else 0.0,
        "nginx_module_cardsvc_change_p50_us": p50_us(lat_svc),
        "nginx_module_cardsvc_change_p50_ratio": p50_us(lat_svc) / p50_us(lat_nginx) if lat_nginx else 0.0,
    }
    print(f"nginx + module: {resumed}/{changes} server changes resumed; sessnic-server: {s_resumed}/{s_changes}; "
          f"nginx x4 workers on card services: {v_resumed}/{v_changes}")
    for k, v in figures.items():
        print(f"{k} = {v:.3f}")
    parts = os.environ.get("SESSNIC_BENCH_PARTS")
    if parts:
        Path(parts).mkdir(parents=True, exist_ok=True)
        (Path(parts) / "nginx_module.json").write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
