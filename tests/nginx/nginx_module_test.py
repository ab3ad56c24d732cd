#!/usr/bin/env python3
"""ngx_http_sessnic_module end to end: nginx -t validation, then three nginx behind
sessnic-dispatch; real clients resume on every server change (TLS 1.2 and 1.3), also a
client that closes without close_notify; `nginx -s reload` of every instance mid-run
loses no session.

    nginx_module_test.py BUILD_DIR NGINX_MODULE_SO
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nginx_cluster import Cluster  # noqa: E402
from nginx_clients import curl_chain, python_no_close_notify, s_client  # noqa: E402

failures = []
STEPS = 6


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def config_errors(c):
    """nginx -t: each bad directive fails with a clear message; a good config passes."""
    def t(instance, **over):
        c.nginx_conf(instance, **over)
        r = c.nginx(instance, "-t")
        return r.returncode, r.stderr

    rc, err = t("n1", cluster="/nonexistent/cluster.toml")
    check(rc != 0 and "sessnic: cluster config" in err and "/nonexistent/cluster.toml" in err,
          f"nginx -t, missing cluster config: rc={rc}: {err.strip().splitlines()[0] if err else ''}")
    rc, err = t("n1", name="nosuch")
    check(rc != 0 and "no [[server]] named 'nosuch'" in err, f"nginx -t, unknown server name: rc={rc}")
    bad_key = c.dir / "open.key"
    bad_key.write_bytes((c.dir / "cluster.key").read_bytes())
    bad_key.chmod(0o644)
    open_cluster = c.dir / "open-key.toml"
    open_cluster.write_text(c.cluster.read_text().replace(str(c.dir / "cluster.key"), str(bad_key)))
    rc, err = t("n1", cluster=open_cluster)
    check(rc != 0 and "sessnic: cluster key file" in err and "chmod 600" in err, f"nginx -t, world-readable key file: rc={rc}")
    def edited(edit):
        conf = c.nginx_conf("n1")
        conf.write_text(edit(conf.read_text()))
        r = c.nginx("n1", "-t")
        return r.returncode, r.stderr

    rc, err = edited(lambda text: text.replace(f"sessnic_card {c.cluster};", ""))
    check(rc != 0 and 'needs "sessnic_card"' in err, f"nginx -t, sessnic_server without sessnic_card: rc={rc}")
    rc, err = edited(lambda text: text.replace(" ssl;", ";").replace("ssl_certificate ", "# ")
                     .replace("ssl_certificate_key ", "# "))
    check(rc != 0 and "server block without TLS" in err, f"nginx -t, sessnic_server without TLS: rc={rc}")
    rc, err = t("n1", cluster=c.cluster)
    check(rc == 0 and "test is successful" in err, f"nginx -t, good config: rc={rc}")
    for line in err.splitlines():
        print("     ", line)


def s_client_chain(c, version, reload_at=None):
    """STEPS+1 connections through the dispatcher, each offering the previous session."""
    d = c.dir
    server, resumed, _ = s_client(c.dispatch_port, version, sess_out=d / f"s{version}-0")
    check(server is not None and not resumed, f"s_client {version}: full handshake on {server}")
    if not (d / f"s{version}-0").exists():
        check(False, f"s_client {version}: the server gave no resumable session")
        return
    prev = server
    changes = 0
    for i in range(1, STEPS + 1):
        if reload_at == i:
            for n in c.names:
                c.reload(n)
            print(f"     reloaded {', '.join(c.names)} (new workers attached)")
        server, resumed, _ = s_client(c.dispatch_port, version, sess_in=d / f"s{version}-{i - 1}",
                                      sess_out=d / f"s{version}-{i}")
        out = d / f"s{version}-{i}"
        if not out.exists():  # TLS 1.2 resumed: s_client writes no new session, the old one goes on
            out.write_bytes((d / f"s{version}-{i - 1}").read_bytes())
        changes += server != prev
        check(server is not None and resumed, f"s_client {version} step {i}: {prev} -> {server} resumed={resumed}")
        prev = server
    check(changes >= STEPS - 1, f"s_client {version}: the server changed {changes} of {STEPS} times")


def python_chain(c, version):
    server, resumed, sess = python_no_close_notify(c.dispatch_port, version)
    check(server is not None and not resumed, f"no close_notify {version}: full handshake on {server}")
    prev = server
    for i in range(1, STEPS + 1):
        server, resumed, sess = python_no_close_notify(c.dispatch_port, version, sess)
        check(server is not None and resumed,
              f"no close_notify {version} step {i}: {prev} -> {server} resumed={resumed}")
        prev = server


def curl(c, version):
    got = curl_chain(c.dispatch_port, version, STEPS + 1)
    check(len(got) == STEPS + 1, f"curl {version}: {len(got)} answers")
    servers = [s for s, _ in got]
    check(len(set(servers)) == len(c.names), f"curl {version}: servers {servers}")
    check(all(r for _, r in got[1:]), f"curl {version}: resumed {[r for _, r in got]}")


def main():
    build, module = sys.argv[1], sys.argv[2]
    t0 = time.monotonic()
    with Cluster(build, module) as c:
        config_errors(c)
        c.nginx_conf("n1")  # back to the good config for the reloads below
        for version in ("tls1_2", "tls1_3"):
            s_client_chain(c, version)
            python_chain(c, version)
            curl(c, version)
        # Mid-run reload of every instance: the sessions made before it still resume.
        s_client_chain(c, "tls1_2", reload_at=3)
        s_client_chain(c, "tls1_3", reload_at=3)
        for n in c.names:
            log = c.error_log(n)
            check("[alert]" not in log and "[emerg]" not in log, f"{n}: no alert/emerg in the error log")
    print(f"{len(failures)} failure(s) in {time.monotonic() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
