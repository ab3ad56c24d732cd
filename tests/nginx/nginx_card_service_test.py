#!/usr/bin/env python3
"""Every worker of an nginx shares its host's card through the card service.

Three nginx (4 workers each), each on its own "host" card service (sessnic-card),
behind sessnic-dispatch, backplane MODE. Real clients (openssl s_client, curl, a Python
client closing without close_notify) resume on every server change in TLS 1.2 and 1.3;
in the middle of chains: `nginx -s reload` of every instance, a worker of every instance
killed with SIGKILL, and a card service restarted. Checks the socket's permissions too.

    nginx_card_service_test.py BUILD_DIR NGINX_MODULE_SO MODE     (MODE: transfer|replicate|hub)
"""
import os
import signal
import stat
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nginx_cluster import Cluster, wait_for  # noqa: E402
from nginx_clients import curl_chain, python_no_close_notify, s_client  # noqa: E402

failures = []
STEPS = 6
WORKERS = 4


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def s_client_chain(c, version, tag, between=None, at=3, steps=STEPS):
    """steps+1 connections through the dispatcher, each offering the previous session;
    between(c) runs before step `at`. Returns the servers seen."""
    d = c.dir
    first = d / f"{tag}-{version}-0"
    server, resumed, _ = s_client(c.dispatch_port, version, sess_out=first)
    check(server is not None and not resumed, f"{tag} {version}: full handshake on {server}")
    if not first.exists():
        check(False, f"{tag} {version}: the server gave no resumable session")
        return []
    prev, seen, changes = server, [server], 0
    for i in range(1, steps + 1):
        if between and i == at:
            between(c)
        sin, sout = d / f"{tag}-{version}-{i - 1}", d / f"{tag}-{version}-{i}"
        server, resumed, _ = s_client(c.dispatch_port, version, sess_in=sin, sess_out=sout)
        if not sout.exists():  # TLS 1.2 resumed: s_client writes no new session
            sout.write_bytes(sin.read_bytes())
        changes += server != prev
        check(server is not None and resumed, f"{tag} {version} step {i}: {prev} -> {server} resumed={resumed}")
        prev = server
        seen.append(server)
    check(changes >= steps - 1, f"{tag} {version}: the server changed {changes} of {steps} times")
    return seen


def python_chain(c, version):
    server, resumed, sess = python_no_close_notify(c.dispatch_port, version)
    check(server is not None and not resumed, f"no close_notify {version}: full handshake on {server}")
    prev = server
    for i in range(1, STEPS + 1):
        server, resumed, sess = python_no_close_notify(c.dispatch_port, version, sess)
        check(server is not None and resumed, f"no close_notify {version} step {i}: {prev} -> {server} resumed={resumed}")
        prev = server


def curl(c, version):
    got = curl_chain(c.dispatch_port, version, STEPS + 1)
    check(len(got) == STEPS + 1, f"curl {version}: {len(got)} answers")
    check(len({s for s, _ in got}) >= 2, f"curl {version}: servers {[s for s, _ in got]}")
    check(all(r for _, r in got[1:]), f"curl {version}: resumed {[r for _, r in got]}")


def reload_all(c):
    for n in c.names:
        c.reload(n)
    print(f"     reloaded {', '.join(c.names)} (all new workers attached)")


killed = {}


def kill_a_worker_each(c):
    for n in c.names:
        before = c.attached_count(n)
        victim = c.worker_pids(n)[0]
        os.kill(victim, signal.SIGKILL)
        killed[n] = killed.get(n, 0) + 1
        # nginx's master starts a replacement, which attaches to the same card service.
        wait_for(lambda: c.attached_count(n) > before, 20, f"{n}: replacement worker attached")
    print("     killed one worker of every nginx with SIGKILL (replacements attached)")


def permissions(c):
    for n in c.names:
        sock = c.card_socket(n)
        st_dir, st_sock = os.stat(sock.parent), os.stat(sock)
        check(stat.S_IMODE(st_dir.st_mode) == 0o700 and stat.S_IMODE(st_sock.st_mode) == 0o600
              and stat.S_ISSOCK(st_sock.st_mode),
              f"{n}: socket dir {oct(stat.S_IMODE(st_dir.st_mode))}, socket {oct(stat.S_IMODE(st_sock.st_mode))}")


def service_restart(c, victim="n2"):
    """Stops `victim`'s card service, serves through the outage, starts it again."""
    c.stop_card(victim)
    answered, on_victim = 0, 0
    for _ in range(STEPS):
        server, _, _ = s_client(c.dispatch_port, "tls1_3")
        answered += server is not None
        on_victim += server == victim
    check(answered == STEPS, f"card service {victim} down: {answered}/{STEPS} connections answered "
                             f"({on_victim} by {victim}, full handshakes)")
    c.start_card(victim)
    # The restarted card has a new epoch: until its HELLO exchange with the other cards and
    # the dispatcher's card is done, a transfer to or from it answers FAILED (a full
    # handshake, docs/backplane.md). Give that exchange a moment on a loaded machine.
    time.sleep(1.0)
    print(f"     card service {victim} restarted")


def main():
    build, module, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    t0 = time.monotonic()
    # A generous transfer deadline: on a loaded machine a 20 ms one can expire (the session
    # then stays where it was and the next server does a full handshake).
    with Cluster(build, module, mode=mode, workers=WORKERS, card_service=True, transfer_deadline_us=500000) as c:
        r = c.nginx("n1", "-t")
        check(r.returncode == 0 and "test is successful" in r.stderr, f"nginx -t with card_service: rc={r.returncode}")
        for n in c.names:
            check(c.attached_count(n) == WORKERS, f"{n}: {c.attached_count(n)} workers attached to one card service")
        permissions(c)
        for version in ("tls1_2", "tls1_3"):
            s_client_chain(c, version, "plain")
            python_chain(c, version)
            curl(c, version)
        for version in ("tls1_2", "tls1_3"):
            s_client_chain(c, version, "reload", between=reload_all)
            s_client_chain(c, version, "kill", between=kill_a_worker_each)
        # A restarted service: re-attached by every worker, no crash; sessions made after it resume.
        service_restart(c)
        for version in ("tls1_2", "tls1_3"):
            s_client_chain(c, version, "after-restart")
        for n in c.names:
            log = c.error_log(n)
            crashes = log.count("exited on signal")
            check(crashes == killed.get(n, 0), f"{n}: {crashes} worker(s) died, {killed.get(n, 0)} killed by the test")
            bad = [l for l in log.splitlines() if ("[alert]" in l and "exited on signal 9" not in l) or "[emerg]" in l]
            check(not bad, f"{n}: no emerg, no alert but the killed workers': {bad[:3]}")
            card_log = (c.dir / f"{n}-card.log").read_text(errors="replace")
            bad = [l for l in card_log.splitlines() if " error " in l or "critical" in l]
            check(not bad, f"{n}: card service log without errors: {bad[:3]}")
    print(f"{len(failures)} failure(s) in {time.monotonic() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
