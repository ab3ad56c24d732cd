"""Real TLS clients against the dispatcher: openssl s_client (-sess_in/-sess_out),
curl, and Python's ssl module closing without close_notify. Each returns which nginx
answered and whether that server resumed the session (nginx's $ssl_session_reused)."""
import socket
import ssl
import subprocess
import time

REQUEST = b"GET / HTTP/1.0\r\nHost: www.travel.test\r\n\r\n"


def parse_body(text):
    """The nginx location answers "<server> <r or .>"."""
    for line in text.splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and parts[1] in ("r", "."):
            return parts[0], parts[1] == "r"
    return None, False


def s_client(port, version, sess_in=None, sess_out=None, timeout=10):
    """version: "tls1_2" | "tls1_3". Returns (server, resumed, elapsed_s)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "www.travel.test",
            f"-{version}", "-ign_eof", "-quiet"]
    if sess_in:
        args += ["-sess_in", str(sess_in)]
    if sess_out:
        args += ["-sess_out", str(sess_out)]
    t0 = time.monotonic()
    r = subprocess.run(args, input=REQUEST, capture_output=True, timeout=timeout)
    elapsed = time.monotonic() - t0
    server, resumed = parse_body(r.stdout.decode(errors="replace"))
    return server, resumed, elapsed


def curl_chain(port, version, n, timeout=30):
    """One curl process, n connections (Connection: close): curl offers the session it got
    from the previous connection. Returns [(server, resumed)]."""
    url = f"https://www.travel.test:{port}/"
    args = ["curl", "-sk", "--resolve", f"www.travel.test:{port}:127.0.0.1", "-H", "Connection: close",
            "--tlsv1.2" if version == "tls1_2" else "--tlsv1.3", "--tls-max", "1.2" if version == "tls1_2" else "1.3"]
    args += [url] * n
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return [parse_body(line) for line in r.stdout.splitlines() if parse_body(line)[0]]


_contexts = {}


def client_context(version):
    """One SSLContext per version: Python resumes a session only in the context that made it."""
    if version not in _contexts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        v = ssl.TLSVersion.TLSv1_2 if version == "tls1_2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = ctx.maximum_version = v
        _contexts[version] = ctx
    return _contexts[version]


def python_no_close_notify(port, version, session=None, timeout=10):
    """HTTP/1.1 keep-alive request; after the answer the client drops the TCP connection
    without close_notify. Returns (server, resumed, session)."""
    ctx = client_context(version)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname="www.travel.test", session=session)
    s.sendall(b"GET / HTTP/1.1\r\nHost: www.travel.test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if body.endswith(b"\n"):
            break
    server, resumed = parse_body(data.decode(errors="replace"))
    sess = s.session
    # SSLSocket.close() does not send close_notify (only unwrap() would).
    s.close()
    return server, resumed, sess
