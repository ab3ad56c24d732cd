"""Three nginx instances with ngx_http_sessnic_module behind sessnic-dispatch, on loopback.

Each nginx has its own config, prefix, pid file and port, ssl_session_tickets off,
ssl_session_cache off; a generated cluster config (replicate mode by default) names them
n1..n3. By default each nginx runs one worker that opens its card in the process; with
card_service=True each of n1..n3 is a "host" with its own sessnic-card service (own
socket, own card) shared by all `workers` workers of that nginx.
Used by nginx_module_test.py, nginx_card_service_test.py and bench/nginx.
Everything started here is stopped by PID in stop().
"""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import shutil
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_ports(kind, n):
    socks = [socket.socket(socket.AF_INET, kind) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


NGINX_CONF = """\
load_module {module};
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sessnic_card {cluster};
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name www.travel.test;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        sessnic_server {name};
        location / {{ return 200 "{name} $ssl_session_reused\\n"; }}
    }}
}}
"""


class Cluster:
    def __init__(self, build, nginx_module, names=("n1", "n2", "n3"), mode="replicate", workers=1,
                 card_service=False, transfer_deadline_us=20000):
        self.build = Path(build).resolve()
        self.module = Path(nginx_module).resolve()
        self.names = list(names)
        self.workers = workers
        self.card_service = card_service
        self.card_pids = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="sessnic-nginx.")
        self.dir = Path(self.tmp.name)
        self.nginx_pids = {}
        self.procs = []
        d = self.dir
        subprocess.run([str(self.build / "host/cli/sessnic"), "keygen", str(d / "cluster.key")], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=www.travel.test", "-keyout", str(d / "key.pem"),
                        "-out", str(d / "cert.pem")], check=True, capture_output=True)
        (d / "content").mkdir()
        tcp = free_ports(socket.SOCK_STREAM, 2 + len(self.names))
        udp = free_ports(socket.SOCK_DGRAM, 1 + len(self.names))
        self.dispatch_port, self.metrics_port = tcp[0], tcp[1]
        self.ports = dict(zip(self.names, tcp[2:]))
        servers = "".join(f"""
[[server]]
name = "{n}"
card = {i + 1}
listen = "127.0.0.1:{self.ports[n]}"
backplane = "127.0.0.1:{udp[i + 1]}"
content = "{d}/content"
{f'card_service = "{self.card_socket(n)}"' if card_service else ""}
""" for i, n in enumerate(self.names))
        names = ", ".join(f'"{n}"' for n in self.names)
        self.cluster = d / "cluster.toml"
        self.cluster.write_text(f"""
[cluster]
key_file = "{d}/cluster.key"
cert = "{d}/cert.pem"
key = "{d}/key.pem"
session_context = "nginx-test"
[backplane]
mode = "{mode}"
[dispatcher]
listen = "127.0.0.1:{self.dispatch_port}"
metrics = "127.0.0.1:{self.metrics_port}"
card = 0
backplane = "127.0.0.1:{udp[0]}"
transfer_deadline_us = {transfer_deadline_us}
{servers}
[[route]]
default = true
servers = [{names}]
""")

    def card_socket(self, name):
        return self.dir / f"{name}-card" / "card.sock"

    def start_card(self, name):
        """Starts server `name`'s host card service and waits for its socket."""
        sock = self.card_socket(name)
        log = open(self.dir / f"{name}-card.log", "a")
        p = subprocess.Popen([str(self.build / "host/cardsvc/sessnic-card"), "--config", str(self.cluster),
                              "--server", name], stdout=log, stderr=subprocess.STDOUT)
        self.card_pids[name] = p
        wait_for(lambda: sock.exists() or p.poll() is not None, 10, f"{name} card service socket")
        if p.poll() is not None:
            raise RuntimeError(f"sessnic-card {name} exited: {(self.dir / f'{name}-card.log').read_text()}")

    def stop_card(self, name):
        p = self.card_pids.pop(name, None)
        if p is None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def worker_pids(self, name):
        """PIDs of the worker processes of nginx `name` (children of its master)."""
        master = self.nginx_pids[name]
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == master and "nginx: worker" in Path(f"/proc/{entry}/cmdline").read_text(errors="replace"):
                pids.append(int(entry))
        return pids

    def nginx_conf(self, instance, **over):
        """Writes instance's nginx.conf; `over` replaces template fields (name = its sessnic_server)."""
        name = instance
        nd = self.dir / name
        nd.mkdir(exist_ok=True)
        args = dict(module=self.module, dir=nd, cluster=self.cluster, port=self.ports[name], cert=self.dir / "cert.pem",
                    key=self.dir / "key.pem", name=name, user="user root;" if os.geteuid() == 0 else "",
                    workers=self.workers)
        args.update(over)
        conf = nd / "nginx.conf"
        conf.write_text(NGINX_CONF.format(**args))
        return conf

    def nginx(self, name, *args, timeout=20):
        nd = self.dir / name
        return subprocess.run([NGINX, "-p", str(nd), "-e", str(nd / "startup.log"), "-c", str(nd / "nginx.conf"),
                               *args], capture_output=True, text=True, timeout=timeout)

    def error_log(self, name):
        p = self.dir / name / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def attached_count(self, name):
        return len(re.findall(r'sessnic: server "%s": model card' % re.escape(name), self.error_log(name)))

    def start_nginx(self, name):
        self.nginx_conf(name)
        r = self.nginx(name)
        if r.returncode != 0:
            raise RuntimeError(f"nginx {name} did not start: {r.stderr}")
        pidfile = self.dir / name / "nginx.pid"
        wait_for(pidfile.exists, 10, f"{name} pid file")
        self.nginx_pids[name] = int(pidfile.read_text())
        wait_for(lambda: self.attached_count(name) >= self.workers, 15, f"{name} workers attached to the card")

    def reload(self, name):
        before = self.attached_count(name)
        os.kill(self.nginx_pids[name], signal.SIGHUP)
        wait_for(lambda: self.attached_count(name) >= before + self.workers, 30,
                 f"{name} new workers attached after reload")

    def start(self):
        if self.card_service:
            for n in self.names:
                self.start_card(n)
        for n in self.names:
            self.start_nginx(n)
        log = open(self.dir / "dispatch.log", "w")
        self.procs.append(subprocess.Popen([str(self.build / "host/dispatch/sessnic-dispatch"), "--config",
                                            str(self.cluster)], stdout=log, stderr=subprocess.STDOUT))
        wait_for(lambda: port_open(self.dispatch_port), 10, "sessnic-dispatch listening")

    def stop(self):
        self.stop_processes()
        self.tmp.cleanup()

    def stop_processes(self):
        """Stops the dispatcher and every nginx (by PID); the files stay."""
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name, pid in self.nginx_pids.items():
            try:
                os.kill(pid, signal.SIGTERM)  # fast shutdown of master and workers
            except ProcessLookupError:
                continue
            pidfile = self.dir / name / "nginx.pid"
            try:
                wait_for(lambda: not pidfile.exists(), 10, f"{name} stopped")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        self.nginx_pids.clear()
        self.procs.clear()
        for name in list(self.card_pids):
            self.stop_card(name)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
