#!/usr/bin/env python3
"""Differential sweep of raw HTTP/1.x requests: the same bytes go to nginx 1.22.1 and
to fulcrum running one configuration, and what the client got back and what reached
the backend are compared.

  python3 scripts/request-nginx-sweep.py FULCRUM_BIN [SEED] [COUNT]   (V=1: every class's cases)

SEED (default 1) makes the generated requests deterministic; COUNT (default 3000) is
how many. The configuration (written to a temporary directory, run by both servers one
after the other, against the same backends) has, per worker, one server with:
  location /        proxy_pass to a raw TCP backend (nginx's default HTTP/1.0 upstream)
  location /ret     return 200 "ok\\n"
  location /nobuf   proxy_pass, proxy_request_buffering off, proxy_http_version 1.1
  location /ka      proxy_pass to an upstream block with keepalive, proxy_http_version 1.1,
                    proxy_set_header Connection ""
and an access log of $remote_addr $status $request $uri $args $request_length
$bytes_sent, error log at info. Each backend records the exact bytes it receives per
connection and answers every request it can frame with a fixed 200 with Content-Length.

Requests come from a grammar of edge cases (methods, request targets, versions,
header lines, Content-Length and Transfer-Encoding forms, chunked bodies, pipelined
pairs: the second request is the smuggling check). For each request the script
compares: the statuses the client read and whether the connection closed; when both
forwarded, the backend's view, normalised (method, target, the header lines except
the ones fulcrum documents as different: Connection and the fields it names,
Keep-Alive, Expect, TE, Upgrade, Proxy-Connection and the framing fields (docs/
directives.md "Where fulcrum differs", docs/security.md "How requests are read"; the
upstream version differs on purpose: nginx's default proxy_http_version is 1.0), the
body bytes decoded, how many requests the backend saw, bytes it could not frame); the
access log line's status, $request, $uri, $args and $request_length; then the error
log's lines. Each case connects from a loopback address of its own (127.x.y.z), which
names it in both logs; a backend record goes to the case that was running when its
first byte came. Differences are printed as classes (the kind of difference, then
the mutations of the cases) with counts and one example each; the last line is
"N same, D documented, I differ in the error log only, M differ". It takes about
2.5 minutes for 3000 cases on a 2-core machine.

Differences that are documented, not bugs (see docs/security.md "How requests are
read"): fulcrum refuses bare LF line ends, obs-fold and a few others that nginx
accepts (EXPECTED below lists them: they are counted apart, with their reason). Cases
that differ only in the error log lines are counted apart too (V=1 prints them).
The exit status is 1 when any other difference remains.
"""
import bisect, os, random, re, shutil, socket, subprocess, sys, tempfile, threading, time
from collections import OrderedDict

WORKERS = 3          # concurrent clients (one server block and one backend each)
CLIENT_TIMEOUT = 3.0  # a request whose answer has not come by then is "timeout"


def freeport():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


# ---------------------------------------------------------------- the backend

def frame(buf):
    """Split one request off buf: (request dict, rest) or (None, buf) when incomplete,
    ("bad", buf) when it cannot be framed (the backend then stops reading)."""
    i = buf.find(b"\r\n\r\n")
    if i < 0: return None, buf
    head, rest = buf[:i], buf[i + 4:]
    lines = head.split(b"\r\n")
    fields = []
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        fields.append((k.strip().lower(), v.strip()))
    te = [v for k, v in fields if k == b"transfer-encoding"]
    cl = [v for k, v in fields if k == b"content-length"]
    body = b""
    if te:
        if te[-1].lower().split(b",")[-1].strip() != b"chunked": return "bad", buf
        pos = 0
        while True:
            j = rest.find(b"\r\n", pos)
            if j < 0: return None, buf
            try: n = int(rest[pos:j].split(b";")[0], 16)
            except ValueError: return "bad", buf
            pos = j + 2
            if n == 0:
                # trailers until an empty line
                while True:
                    j = rest.find(b"\r\n", pos)
                    if j < 0: return None, buf
                    line = rest[pos:j]; pos = j + 2
                    if not line: break
                break
            if len(rest) < pos + n + 2: return None, buf
            body += rest[pos:pos + n]; pos += n + 2
        rest = rest[pos:]
    elif cl:
        try: n = int(cl[0])
        except ValueError: return "bad", buf
        if len(rest) < n: return None, buf
        body, rest = rest[:n], rest[n:]
    return {"line": lines[0], "fields": fields, "body": body, "raw": head}, rest


class Backend:
    """A raw TCP server on 127.0.0.1 that records every request it frames (and the
    bytes it cannot frame) in self.log, in order, as (connection number, record)."""
    def __init__(self):
        self.sock = socket.socket(); self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0)); self.sock.listen(64); self.port = self.sock.getsockname()[1]
        self.log, self.lock, self.nconn = [], threading.Lock(), 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try: c, _ = self.sock.accept()
            except OSError: return
            self.nconn += 1
            threading.Thread(target=self.serve, args=(c, self.nconn), daemon=True).start()

    def add(self, conn, rec, began):
        """Record rec, a request (or bytes) whose first byte came at began."""
        with self.lock: self.log.append((conn, rec, began))

    def serve(self, c, conn):
        buf, began = b"", time.time()
        c.settimeout(2.5)
        try:
            while True:
                req, buf2 = frame(buf)
                if req == "bad":
                    self.add(conn, {"garbage": buf}, began); break
                if req is None:
                    try: d = c.recv(65536)
                    except socket.timeout: d = b""
                    if not d:
                        if buf: self.add(conn, {"partial": buf}, began)
                        break
                    if not buf: began = time.time()
                    buf += d; continue
                buf = buf2
                self.add(conn, req, began)
                close = any(k == b"connection" and b"close" in v.lower() for k, v in req["fields"]) or req["line"].endswith(b"HTTP/1.0")
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\nok\n")
                if close:
                    # what else came on a connection that should have ended is recorded too
                    c.settimeout(0.2)
                    try: extra = c.recv(65536)
                    except OSError: extra = b""
                    if buf + extra: self.add(conn, {"after-close": buf + extra}, began)
                    break
        except OSError:
            pass
        c.close()


# ---------------------------------------------------------------- the servers

def config(d, ports, backends):
    servers = []
    for i, (p, b) in enumerate(zip(ports, backends)):
        servers.append(f"""
upstream ka{i} {{ server 127.0.0.1:{b.port}; keepalive 4; }}
server {{ listen 127.0.0.1:{p};
  location / {{ proxy_pass http://127.0.0.1:{b.port}; }}
  location /ret {{ return 200 "ok\\n"; }}
  location /nobuf {{ proxy_pass http://127.0.0.1:{b.port}; proxy_request_buffering off; proxy_http_version 1.1; }}
  location /ka {{ proxy_pass http://ka{i}; proxy_http_version 1.1; proxy_set_header Connection ""; }}
}}""")
    return f"""pid {d}/x.pid; error_log {d}/error.log info; worker_processes 1;
events {{}}
http {{
  log_format sweep '$remote_addr $status "$request" "$uri" "$args" $request_length $bytes_sent';
  access_log {d}/access.log sweep;
  client_body_temp_path {d}/cb; proxy_temp_path {d}/pt;
  client_header_timeout 2s; client_body_timeout 2s; proxy_read_timeout 3s;
  {''.join(servers)}
}}
"""


def start(server, binary, backends):
    d = os.path.join(WORK, server)
    shutil.rmtree(d, ignore_errors=True); os.makedirs(d + "/logs")
    ports = [freeport() for _ in backends]
    open(d + "/nginx.conf", "w").write(config(d, ports, backends))
    if server == "nginx": cmd = ["nginx", "-p", d + "/", "-c", d + "/nginx.conf", "-g", "daemon off; master_process off;"]
    else: cmd = [binary, "-p", d + "/", "-c", d + "/nginx.conf"]
    p = subprocess.Popen(cmd, stdout=open(d + "/out", "w"), stderr=subprocess.STDOUT)
    for port in ports:
        for _ in range(200):
            try: socket.create_connection(("127.0.0.1", port), 0.2).close(); break
            except OSError: time.sleep(0.05)
        else:
            p.kill(); sys.exit(f"{server} did not start: " + open(d + "/out").read()[-500:])
    return p, ports, d


# ---------------------------------------------------------------- the client

def read_responses(s, want, head_only):
    """Read up to `want` final responses: [(status, headers)], closed, raw."""
    buf, out, closed = b"", [], False
    deadline = time.time() + CLIENT_TIMEOUT
    def more(t):
        nonlocal buf, closed
        s.settimeout(max(0.01, t))
        try: d = s.recv(65536)
        except socket.timeout: return False
        except OSError: d = b""
        if not d: closed = True; return False
        buf += d; return True
    while len(out) < want and not closed:
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            if not more(deadline - time.time()):
                if not closed: return out, "timeout", buf
            continue
        head = buf[:i].split(b"\r\n"); rest = buf[i + 4:]
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head[0])
        if not m: out.append(("junk", {})); break
        status = int(m.group(1))
        h = {}
        for l in head[1:]:
            k, _, v = l.partition(b":"); h[k.strip().lower().decode("latin1")] = v.strip().decode("latin1")
        if 100 <= status < 200:
            buf = rest; continue
        n = 0 if head_only[min(len(out), len(head_only) - 1)] else int(h.get("content-length", "0") or 0)
        if "chunked" in h.get("transfer-encoding", "").lower():
            while not rest.endswith(b"0\r\n\r\n") and more(deadline - time.time()): rest = buf[i + 4:]
            rest = b""
        while len(rest) < n and more(deadline - time.time()): rest = buf[i + 4:]
        buf = rest[n:]
        out.append((status, h))
    while not closed and more(0.15):
        pass  # does the connection close after the last answer (and whatever came after it)?
    return out, ("closed" if closed else "open"), buf


def client_addr(i):
    """The loopback address case i connects from: one per case, so that the
    access and error log lines ($remote_addr, "client: ...") name their case."""
    return f"127.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"


def send(i, port, data, want, head_only):
    s = socket.create_connection(("127.0.0.1", port), 2, source_address=(client_addr(i), 0))
    me = client_addr(i)
    try:
        s.sendall(data)
    except OSError:
        pass
    try:
        out, state, _ = read_responses(s, want, head_only)
    finally:
        s.close()
    return me, [r[0] for r in out], state


# ---------------------------------------------------------------- the grammar

LOCS = ["/", "/ret", "/nobuf", "/ka"]
METHODS = ["GET"] * 6 + ["POST"] * 4 + ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "Get", "G1", "G.T", "G_T", "G-T",
           "PROPFIND", "FOO", "M" * 40, "X" * 300, "GET\x00", "CONNECT", "TRACE", "POST ", "\tGET", "GE T", "MKCOL", "LOCK"]
PATHS = ["a", "a/b", "a/../b", "..", "../a", "a/./b", "./a", "a//b", "%2e%2e/", "%2E%2E/x", "%2f", "%2Fa", "%", "%z", "%zz", "%4", "%00", "%0d%0a",
         "a#frag", "a?x=1#f", "a?x=1", "a?", "a?%zz", "a?a b", "a\x01", "a\x7f", "a\xff", "\x80\xe9", "a\\b", "a;b", "~u", "a%20b", "%252e%252e",
         "a?\x01", "a?x=\xff", "a/%2e/b", "a/.%2e/b", ".%2E/", "a%2F..%2F..%2Fb", "a\tb", "a\x0bb", "a b", "a?b=c&d=e", "a?#", "%C3%A9"]
VERSIONS = ["HTTP/1.1"] * 12 + ["HTTP/1.0"] * 4 + ["", "HTTP/0.9", "HTTP/2.0", "HTTP/1.10", "HTTP/1.2", "http/1.1", "HTTP/01.1", "HTTP/1.1x",
            "HTTP/1", "HTTP/3.0", "HTTP/1.01", "HTTP/1.1 ", "HTTP/9.9", "HTTP/1.1\x00", "HTTPS/1.1", "HTTP/ 1.1", "HTTP/1.9", "HTTP/10.0"]
CLS = ["5", "+5", "05", "5,5", "5, 5", "5,6", " 5 ", "", "-1", "0x5", "99999999999999999999", "5 5", "5\t", "\xef\xbc\x905", "5;", "4", "6", "0", "00005"]
TES = ["chunked", "Chunked", "CHUNKED", "gzip, chunked", "chunked, gzip", "chunked, chunked", "identity", "identity, chunked",
       "chunked;q=1", " chunked", "chunked ", "x", ",chunked", "chunked,", "chunked , ", "gzip", "deflate, chunked", "chunked\t", "chunk", '"chunked"']
HOSTS = ["h", "example.com", "h:80", "H.Example.COM", "", "a b", "a/b", "[::1]", "[::1]:80", "h:99999", "..", "a..b", ".h", "h.",
         "h:", ":80", "a_b", "a\x01b", "a\xffb", "h:8x", "[zz]", "h\\x", "h@x", "-h", "a%20b", "localhost:0", "x" * 300]


ODD_HEADERS = [
    "X-A: a\r\n b", "X-A: a\r\n\tb", "X-A : a", "X-A\t: a", ": a", "X-A", " X-A: a", "\tX-A: a", "Host: h", "Host: h2",
    "Expect: 100-continue", "Expect: 100-Continue", "Expect: foo", "Expect:", "Connection: close", "Connection: keep-alive",
    "Connection: X-A, close", "Connection: Upgrade", "Connection: TE", "Connection: Host", "Connection: Content-Length",
    "Connection: X-A", "X-A: a", "Upgrade: websocket", "Upgrade: h2c", "TE: trailers", "Keep-Alive: 5",
    "Proxy-Connection: keep-alive", "X_A: a", "X.A: a", "X@A: a", "X A: a", "X\xe9: a", "X-A: a\rb", "X-A: a\x00b", "X-A: a\x7fb",
    "X-A: \xe9", "X-A: a\tb", "X-A: a  ", "X-A:a", "X-A:", "X-A: a\r", "x-a: A", "X-" + "a" * 9000 + ": a",
    "X-A: " + "b" * 1000, "X-A: " + "b" * 4000, "X-A: " + "b" * 8100, "X-A: " + "b" * 9000, "X-A: " + "b" * 20000,
    "\r\n".join(f"X-N{i}: v" for i in range(100)), "\r\n".join(f"X-N{i}: " + "v" * 300 for i in range(120)),
    "Content-Type: text/plain", "Cookie: a=b", "Authorization: x", "Authorization: y", "X-Forwarded-For: 1.2.3.4", "Via: x",
    "Max-Forwards: 0", "Range: bytes=0-1", "If-None-Match: x", "If-Modified-Since: x", "Accept-Encoding: gzip", "User-Agent: a\x01b",
    "Referer: \xff", "X-A: a\nX-B: b", "X-A: a\rX-B: b", "Transfer-Encoding: chunked", "Content-Length: 0", "Content-Length: 5",
    "Content-Length: 3", "X-A: a\x0bb", "X-A: a\x1bb", "X-A;b: c", "X-A:\ta", "X-A: \"q\"", "\x00: a", "X-A: a\r\n", "Cookie: c=d",
]
CHUNK_SIZES = ["%x", "%X", "%04x", "%x;a=b", '%x;a="q q"', "%x;" + "e" * 2000, "%x ", " %x", "%x\t", "0x%x", "-%x",
               "ffffffffffffffffff%x", "00000000000000000000%x", "%x;", "+%x", "%x\x00", "%x;a\x01"]
CHUNK_ENDS = ["\n", "\r", "", "x\r\n", "\r\r\n"]
LAST_CHUNKS = ["000\r\n\r\n", "0;e=1\r\n\r\n", "0\r\nX-T: t\r\n\r\n", "0\r\nContent-Length: 9\r\n\r\n", "0\n\n", "0\r\n\n",
               "0\r\nX-T: t\n\r\n", "0\r\n X-T: t\r\n\r\n", "0\r\nHost: evil\r\n\r\n", "0\r\nTransfer-Encoding: x\r\n\r\n", "0\r\n\r",
               "0\r\nX-T t\r\n\r\n"]
PAYLOADS = [b"hello", b"x" * 100, b"abc\r\ndef", b"GET /ka/smuggled HTTP/1.1\r\nHost: h\r\n\r\n"]


class Req:
    """A request being built: a valid one to start with, then mutated."""
    def __init__(self, method, target):
        self.method, self.target, self.version, self.sep = method, target, "HTTP/1.1", " "
        self.headers, self.body, self.le, self.body_le = ["Host: h"], b"", ["\r\n"] * 40, None
        self.chunk = None  # (payload, size format, data end, last chunk) when chunked

    def set_body(self, payload, te=None, cl=None):
        self.headers = [h for h in self.headers if not h.lower().startswith(("content-length:", "transfer-encoding:"))]
        if te is not None:
            self.headers.append("Transfer-Encoding: " + te); self.chunk = [payload, "%x", "\r\n", "0\r\n\r\n"]
        if cl is not None:
            self.headers.append("Content-Length: " + cl)
        if te is None: self.chunk = None; self.body = payload

    def bytes(self):
        line = self.method + self.sep + self.target + ((self.sep + self.version) if self.version else "")
        head = line + self.le[0] + "".join(h + self.le[i + 1] for i, h in enumerate(self.headers)) + self.le[len(self.headers) + 1]
        body = self.body
        if self.chunk:
            p, size, end, last = self.chunk
            body = ((size % len(p)).encode("latin1") + b"\r\n" + p + end.encode("latin1") if p else b"") + last.encode("latin1")
        return head.encode("latin1") + body


class Gen:
    """Cases from the grammar, deterministic by the random source: a valid request with
    one mutation (sometimes two), sometimes followed by a plain second request."""
    def __init__(self, rnd):
        self.r = rnd

    def pick(self, xs): return self.r.choice(xs)

    def mutate(self, q):
        """Apply one mutation to q; its name."""
        r, k = self.r, self.r.randrange(16)
        if k == 0:
            q.method = self.pick(METHODS); return "method " + q.method
        if k == 1:
            p = self.pick(PATHS); q.target = q.target.rstrip("/") + "/" + p; return "path " + p
        if k == 2:
            t = self.pick(["*", "http://h", "HTTP://H:80", "https://h", "http://x.example", "http://h:80", "http://[::1]", "http://a b",
                           "ftp://h", "http://", "http://user@h", "//", "///", "", "x", "?x", "http://h?x=1", "http:/h", "http:h"])
            q.target = t if t in ("*", "", "x", "?x") else t + q.target if not t.startswith("/") else t + q.target.lstrip("/")
            return "target " + t
        if k == 3:
            n = self.pick([1000, 2000, 4000, 8100, 8200, 9000, 20000]); q.target += self.pick(["x", "?y"]) * 1 + "z" * n
            return f"long target {n}"
        if k == 4:
            q.version = self.pick(VERSIONS[12:]); return "version " + repr(q.version)
        if k == 5:
            q.sep = self.pick(["  ", "\t", " \t"]); return "separator " + repr(q.sep)
        if k in (6, 7):
            h = self.pick(ODD_HEADERS); q.headers.insert(r.randint(0, len(q.headers)), h); return "header " + repr(h[:40])
        if k == 8:
            h = self.pick(HOSTS); q.headers = ["Host: " + h if x == "Host: h" else x for x in q.headers]; return "host " + repr(h[:40])
        if k == 9:
            q.headers.remove("Host: h") if "Host: h" in q.headers else None; return "no host"
        if k == 10:
            v = self.pick(CLS); q.set_body(self.pick(PAYLOADS), cl=v); return "content-length " + repr(v)
        if k == 11:
            a, b = self.pick([("5", "5"), ("5", "6"), ("5", "05"), ("5", ""), ("0", "5"), ("5", "5, 5")])
            q.set_body(b"hello", cl=a); q.headers.append("Content-Length: " + b); return f"two content-length {a!r} {b!r}"
        if k == 12:
            te = self.pick(TES); q.set_body(self.pick(PAYLOADS), te=te)
            extra = self.pick([None, None, "te", "cl", "cl0"])
            if extra == "te": t2 = self.pick(TES); q.headers.append("Transfer-Encoding: " + t2); return f"transfer-encoding {te!r} + {t2!r}"
            if extra: q.headers.append("Content-Length: " + ("0" if extra == "cl0" else "5")); return f"transfer-encoding {te!r} + content-length"
            return f"transfer-encoding {te!r}"
        if k == 13:
            q.set_body(self.pick(PAYLOADS), te="chunked")
            which = r.randrange(3)
            if which == 0: q.chunk[1] = self.pick(CHUNK_SIZES); return "chunk size " + repr(q.chunk[1][:12])
            if which == 1: q.chunk[2] = self.pick(CHUNK_ENDS); return "chunk data end " + repr(q.chunk[2])
            q.chunk[3] = self.pick(LAST_CHUNKS); return "last chunk " + repr(q.chunk[3])
        if k == 14:
            i = r.randrange(len(q.headers) + 2); q.le[i] = self.pick(["\n", "\r", "\n\r"])
            return f"line end {q.le[i]!r} on line {'last' if i == len(q.headers) + 1 else i}"
        q.le = ["\n"] * 40; return "all line ends LF"

    def case(self):
        """(bytes to send, how many answers to wait for, which are HEAD, mutation names)."""
        r = self.r
        method = self.pick(["GET", "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"])
        q = Req(method, self.pick(LOCS).rstrip("/") + "/a")
        if method in ("POST", "PUT", "PATCH"): q.set_body(b"hello", cl="5")
        names = [self.mutate(q)]
        if r.random() < 0.2: names.append(self.mutate(q))
        data = q.bytes()
        if r.random() < 0.3:
            names.append("+ pipelined GET")
            return data + b"GET /ka/second HTTP/1.1\r\nHost: h\r\n\r\n", 2, [q.method == "HEAD", False], names
        return data, 1, [q.method == "HEAD"], names


# ---------------------------------------------------------------- comparison

HOP = {b"connection", b"keep-alive", b"expect", b"te", b"upgrade", b"proxy-connection", b"transfer-encoding", b"content-length"}


def client_named(data):
    """The field names the client's own Connection fields name (lower case):
    fulcrum removes them (documented), nginx forwards them, even where
    proxy_set_header Connection "" keeps the Connection field itself from
    the backend (location /ka)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    named = set()
    for l in head.split(b"\r\n")[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"connection":
            named |= {t.strip().lower() for t in v.split(b",")}
    return named


def view(rec, named=frozenset()):
    """The backend's view of one record, normalised; named are field names
    to leave out besides the ones the record's Connection field names."""
    if "line" not in rec:
        k = next(iter(rec)); return (k, rec[k][:200])
    parts = rec["line"].split(b" ")
    method, target = parts[0], parts[1] if len(parts) > 1 else b""
    named = set(named)
    for k, v in rec["fields"]:
        if k == b"connection": named |= {t.strip().lower() for t in v.split(b",")}
    fields = tuple((k, v) for k, v in rec["fields"] if k not in HOP and k not in named)
    return ("req", method, target, fields, rec["body"])


def describe(v):
    if v[0] != "req": return f"{v[0]}: {v[1]!r}"
    return f"{v[1].decode('latin1')} {v[2].decode('latin1')[:120]} {[(k + b': ' + x).decode('latin1')[:80] for k, x in v[3]]} body={v[4][:80]!r}"


def run_all(server, binary, cases, backends):
    p, ports, d = start(server, binary, backends)
    results = [None] * len(cases)
    marks = [len(b.log) for b in backends]

    def worker(w):
        # case i always goes through worker i % WORKERS: the same server block and
        # backend for both servers, so the Host nginx and fulcrum send is the same
        b, port = backends[w], ports[w]
        for i in range(w, len(cases), len(backends)):
            data, want, heads, _ = cases[i]
            t0 = time.time()
            try: me, statuses, state = send(i, port, data, want, heads)
            except OSError as e: me, statuses, state = client_addr(i), [], "connect: " + str(e)
            results[i] = {"port": me, "status": statuses, "state": state, "t0": t0}

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(len(backends))]
    for t in ts: t.start()
    for t in ts: t.join()
    time.sleep(1.2)  # fulcrum's access log is at most 1 s late
    p.terminate()
    try: p.wait(5)
    except Exception: p.kill()
    time.sleep(0.3)  # requests the proxy left unfinished are recorded as it closes them
    # A record belongs to the case of its worker that last began before the
    # record's first byte came: the proxy forwards only what a case sent, and a
    # request it gave up on (a streamed body with a bad chunk) is recorded when
    # its connection closes, maybe after that case's answer.
    for w, b in enumerate(backends):
        mine = list(range(w, len(cases), len(backends)))
        starts = [results[i]["t0"] for i in mine]
        got = {i: [] for i in mine}
        with b.lock: recs = b.log[marks[w]:]
        for conn, rec, began in recs:
            k = bisect.bisect_right(starts, began) - 1
            if "line" not in rec:
                # bytes recorded when their connection ended (a request the
                # proxy gave up on): the backend's thread may have run late
                # on a busy machine, so take the latest case before began
                # that was not answered in full and whose request line the
                # bytes start with (method and target); first one whose
                # bytes hold the start of the body they carry too (two
                # cases may share a request line, "PATCH /nobuf/a" with
                # other bodies: the first that came late took the record)
                raw = next(iter(rec.values()))
                first = raw.split(b"\r\n", 1)[0].rsplit(b" ", 1)[0]
                body = raw.partition(b"\r\n\r\n")[2][:32]
                def owner(also):
                    for j in range(k, max(k - 20, -1), -1):
                        r = results[mine[j]]
                        whole = r["state"] == "open" and r["status"] and all(x < 400 for x in r["status"])
                        if first and first in cases[mine[j]][0] and also in cases[mine[j]][0] and not whole:
                            return j
                    return None
                j = owner(body)
                if j is None: j = owner(b"")
                if j is not None: k = j
            if k >= 0: got[mine[k]].append((conn, rec))
        for i in mine:
            results[i]["backend"] = [view(r, client_named(cases[i][0])) for _, r in got[i]]
            results[i]["conns"] = len({c for c, _ in got[i]})
    logs = {}
    try:
        for l in open(d + "/access.log", encoding="latin1"):
            port, _, rest = l.rstrip("\n").partition(" ")
            f = re.match(r'(\S+) "(.*)" "(.*)" "(.*)" (\S+) (\S+)$', rest)
            logs.setdefault(port, []).append(f.groups()[:5] if f else (rest,))
    except FileNotFoundError:
        pass
    errors = {}
    try:
        for l in open(d + "/error.log", encoding="latin1"):
            m = re.search(r"\[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?)(?: while [^,]*)?, client: ([0-9.]+)", l)
            if m: errors.setdefault(m.group(3), []).append(f"[{m.group(1)}] {m.group(2)}"[:160])
    except FileNotFoundError:
        pass
    for res in results:
        res["log"] = logs.get(res["port"], [])
        res["errors"] = [e for e in errors.get(res["port"], []) if "closed keepalive" not in e and "closed connection" not in e]
    return results


# Differences fulcrum makes on purpose, each documented (docs/security.md "How
# requests are read", docs/directives.md "Where fulcrum differs"): (class of
# difference, a mutation that explains it, why). A case whose class matches and
# one of whose mutations matches is counted as documented, not as a difference.
REFUSES = r"fulcrum (400|417|431|505)|nginx closed / fulcrum 400|nginx 50[15] / fulcrum 400|access log"
EXPECTED = [
    (REFUSES, r"all line ends LF|line end '\\n|chunk data end '\\n'|last chunk '0(\\r)?\\n\\n'|last chunk '0\\r\\nX-T: t\\n|header 'X-A: a\\nX-B",
     "bare LF line ends: 400 (security.md)"),
    (REFUSES + r"|nginx 400 / fulcrum 408|nginx closed / fulcrum 408", r"line end '\\r'|header 'X-A: a\\r",
     "bare CR: 400 at once (security.md; nginx waits for a LF after some)"),
    (REFUSES, r"separator|version 'HTTP/1\.1 '|method 'POST '|method POST $|version ''",
     "request lines nginx takes leniently (directives.md: two spaces, space after the version, HTTP/0.9)"),
    (REFUSES, r"header '(X-A;b|X@A|X\xe9|X A): ", "field names that are not tokens: 400 (directives.md)"),
    (REFUSES, r"host '(h@x|a%20b|h\\\\x|a\xffb|h:8x|\[zz\])'", "Host values fulcrum reads strictly (directives.md)"),
    (REFUSES, r"target ftp://", "absolute-form target with another scheme (directives.md)"),
    (REFUSES, r"path a(\?x=1)?#|path a\?#", "'#' in the target: 400 (security.md)"),
    (r"fulcrum 417", r"header 'Expect", "Expect other than 100-continue: 417 (security.md)"),
    (r"nginx 400 / fulcrum 431", r".", "a head over the buffers: 431 where nginx answers 400 (directives.md)"),
    (r"nginx 400 / fulcrum 200|access log", r"two content-length '5' '5(, 5)?'|content-length '5, ?5'|header 'Content-Length: 5'",
     "one Content-Length value repeated: taken as one (directives.md, security.md)"),
    (r"nginx 501 / fulcrum 400|access log", r"transfer-encoding",
     "a malformed Transfer-Encoding, or one beside a Content-Length: 400 where nginx answers 501 (security.md)"),
    (r"nginx (400|501) / fulcrum (200|400)|access log", r"content-length '5\\t'|transfer-encoding 'chunked\\t'",
     "tabs around a value trimmed (directives.md)"),
    (REFUSES, r"header '(User-Agent: a\\x01b|X-A: a\\x0bb|X-A: a\\x7fb|X-A: a\\x1bb)'|host 'a\\x01b'",
     "control bytes in a field value: 400 (directives.md)"),
    (REFUSES, r"chunk size '(%x |%x\\t|%x;'|%x;e|%x;a\\x01|0000)|last chunk '0\\r\\n(X-T t| X-T)",
     "chunked body lines read exactly (directives.md)"),
    (REFUSES, r"header 'X-A'$|header 'X-A: a\\r\\n", "a field line without a colon, obs-fold: 400 (security.md)"),
    (r"backend saw 0 records through nginx, 1 through fulcrum", r"chunk|last chunk",
     "proxy_request_buffering off: what came before a chunked framing fault past fulcrum's 2 KiB read buffer "
     "streamed, then the upstream connection closed on an unfinished body (nginx checks what its header buffer "
     "held with the head before it connects, and streams the same when the bytes come in more than one read)"),
]


def documented(kind, names):
    """The reason a difference of this kind in a case with these mutations is
    documented, or None."""
    for k, m, why in EXPECTED:
        if re.search(k, kind) and any(re.search(m, n) for n in names):
            return why
    return None


def classify(a, b):
    """The class of difference between nginx's result a and fulcrum's b, or None."""
    sa, sb = a["status"], b["status"]
    if sa != sb:
        fa = [s for s in sa]; fb = [s for s in sb]
        def kind(x): return "answered" if x else a["state"]
        n = f"status nginx {','.join(map(str, sa)) or a['state']} / fulcrum {','.join(map(str, sb)) or b['state']}"
        if a["backend"] and not b["backend"]: n += " (nginx forwarded, fulcrum refused)"
        elif b["backend"] and not a["backend"]: n += " (FULCRUM FORWARDED, nginx refused)"
        return n
    if len(a["backend"]) != len(b["backend"]):
        return f"backend saw {len(a['backend'])} records through nginx, {len(b['backend'])} through fulcrum"
    for x, y in zip(a["backend"], b["backend"]):
        if x[0] != y[0]: return f"backend record kind {x[0]} / {y[0]}"
        if x[0] != "req": continue
        if x[1] != y[1]: return "backend method"
        if x[2] != y[2]: return "backend target"
        if x[3] != y[3]:
            ka = [k for k, _ in x[3]]; kb = [k for k, _ in y[3]]
            if sorted(set(ka)) != sorted(set(kb)):
                return "backend header names: " + ",".join(sorted({k.decode('latin1') for k in set(ka) ^ set(kb)}))
            return "backend header values/order"
        if x[4] != y[4]: return "backend body"
    if a["state"] != b["state"]:
        return f"connection nginx {a['state']} / fulcrum {b['state']} after {','.join(map(str, sa))}"
    la, lb = a["log"], b["log"]
    if [l[:5] for l in la] != [l[:5] for l in lb]:
        if len(la) != len(lb): return f"access log lines nginx {len(la)} / fulcrum {len(lb)}"
        for x, y in zip(la, lb):
            for i, name in enumerate(["status", "$request", "$uri", "$args", "$request_length"]):
                if x[i:i + 1] != y[i:i + 1]: return f"access log {name}"
    ea = [re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", e) for e in a["errors"]]
    eb = [re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", e) for e in b["errors"]]
    if ea != eb:
        return "error log lines (informational)"
    return None


def main():
    if len(sys.argv) < 2: print(__doc__); sys.exit(2)
    global WORK
    binary = os.path.abspath(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    WORK = tempfile.mkdtemp(prefix="request-sweep.")
    g = Gen(random.Random(seed))
    cases = [g.case() for _ in range(count)]
    backends = [Backend() for _ in range(WORKERS)]
    t0 = time.time()
    a = run_all("nginx", binary, cases, backends)
    t1 = time.time()
    b = run_all("fulcrum", binary, cases, backends)
    print(f"# {count} cases, seed {seed}; nginx {t1 - t0:.0f}s, fulcrum {time.time() - t1:.0f}s; work dir {WORK}")
    classes, known, info = OrderedDict(), OrderedDict(), OrderedDict()
    for i, (x, y) in enumerate(zip(a, b)):
        c = classify(x, y)
        if not c: continue
        why = documented(c, cases[i][3])
        if why: known.setdefault(why, []).append(i)
        elif "informational" in c: info.setdefault((c, "; ".join(cases[i][3])), []).append(i)
        else: classes.setdefault((c, "; ".join(cases[i][3])), []).append(i)
    verbose = os.environ.get("V")
    def short(v): v = repr(v); return v if len(v) < 240 else v[:200] + f"...({len(v)} chars)"
    kinds = OrderedDict()
    for (c, m), idxs in list(classes.items()) + (list(info.items()) if verbose else []):
        kinds.setdefault(c, []).append((m, idxs))
    for c, ms in sorted(kinds.items(), key=lambda kv: -sum(len(i) for _, i in kv[1])):
        print(f"{sum(len(i) for _, i in ms):5d}  {c}")
        for m, idxs in sorted(ms, key=lambda x: -len(x[1])):
            print(f"    {len(idxs):4d}  {m}")
            for i in (idxs if verbose else idxs[:1]):
                x, y = a[i], b[i]
                print(f"            case {i}: {short(cases[i][0])}")
                print(f"              nginx   {x['status']} {x['state']} log={short(x['log'])} errors={short(x['errors'])}")
                for v in x["backend"]: print(f"                -> {short(describe(v))}")
                print(f"              fulcrum {y['status']} {y['state']} log={short(y['log'])} errors={short(y['errors'])}")
                for v in y["backend"]: print(f"                -> {short(describe(v))}")
    print("documented differences:")
    for why, idxs in sorted(known.items(), key=lambda kv: -len(kv[1])):
        print(f"{len(idxs):5d}  {why}   (e.g. case {idxs[0]}: {short(cases[idxs[0]][0])[:120]})")
    diff = sum(len(v) for v in classes.values())
    ndoc = sum(len(v) for v in known.values())
    ninfo = sum(len(v) for v in info.values())
    print(f"{count - diff - ndoc - ninfo} same, {ndoc} documented, {ninfo} differ in the error log only (V=1 shows them), {diff} differ")
    if not os.environ.get("KEEP"): shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
