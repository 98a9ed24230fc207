#!/usr/bin/env python3
"""Run a directory of real-world nginx configurations through `nginx -t` and
`fulcrum -t`, and optionally send the same requests through both.

  python3 scripts/realworld-nginx-sweep.py FULCRUM_BIN CONFIGS_DIR [NAME...]   (V=1: print outputs; V=2: also nginx's answers and log lines)

The script holds no configuration: CONFIGS_DIR does (configurations people publish
are reference data under their own licences; keep them outside this repository).
Each subdirectory of CONFIGS_DIR is one configuration: its nginx.conf and whatever it
includes. Before running, every file is copied to a temporary prefix and these
placeholders are replaced, so a configuration runs unprivileged on loopback:

  %%DIR%%              the prefix (absolute, no trailing slash)
  %%PORT%% %%PORT2%% %%PORT3%%  free 127.0.0.1 ports to listen on (each server differs)
  %%UP1%% %%UP2%% %%UP3%%  ports of three HTTP echo backends (name, method, URI, headers)
  %%B502%% %%B503%%    echo backends that answer with that status (for proxy_next_upstream)
  %%SLOW%%             an echo backend that answers after 2.5 s (for proxy_read_timeout)
  %%DEAD%%             a port nothing listens on (connect() is refused)
  %%TCP1%% %%TCP2%%    TCP echo backends (answer "NAME:" + what they read)
  %%UDP1%% %%UDP2%%    UDP echo backends (answer "NAME:" + the datagram)
  %%SOCK%%             the path of an HTTP echo backend on a unix socket ("sock")
  %%ONESHOT%%          an HTTP echo that keeps a connection open after one answer and
                       closes it unanswered when a second request comes on it
  %%WS%%               a WebSocket backend: 101 to a request with Upgrade (426 without),
                       then "ws:" + each chunk it reads
  %%FCGI%%             port of a FastCGI responder (answers with the parameters it got)
  %%SYSLOG%%           "127.0.0.1:PORT" of a UDP syslog receiver (`access_log syslog:server=%%SYSLOG%%`)
  %%SYSLOGSOCK%%       the path of a unix datagram syslog receiver (`error_log syslog:server=unix:%%SYSLOGSOCK%%`)
                       Each run (nginx's, fulcrum's) gets its own two receivers, which
                       record every datagram with the number of the request it came
                       after (see below).
  %%DNS%%              "127.0.0.1:PORT" of a tiny DNS server (UDP) for `resolver %%DNS%%;`
                       (as Docker's 127.0.0.11 or a cluster's kube-dns): it answers A
                       127.0.0.1 (TTL 5) for every name the configuration's files write
                       as a URL's host (`http://api.internal/`) or before a placeholder
                       port (`app:%%UP1%%`; see NAMES), for the lines of a file dns.txt
                       in its directory (a line "-NAME" takes NAME away: it is then
                       unknown; "NAME=127.0.0.1,127.0.0.2" gives NAME those A records,
                       "NAME=" none), for names ending in ".svc.cluster.local", and
                       "localhost";
                       an empty answer to AAAA for those; NXDOMAIN (3: Host not found)
                       for every other name, so `proxy_pass http://$up` with `$up`
                       "app:%%UP1%%" reaches the first echo backend. Names resolved when
                       the configuration loads (without variables) are looked up by the
                       system (/etc/hosts), which the script does not touch: nginx then
                       refuses the configuration with "host not found in upstream".

The echo backends answer 200 text/plain unless the query string asks otherwise, so
that a caching or content-filtering configuration has something to work on:
cc= Cache-Control, sc= Set-Cookie, ct= Content-Type, xae= X-Accel-Expires, xar= X-Accel-Redirect,
vary= Vary, etag= ETag (and 304 to an If-None-Match with it), lm= Last-Modified
(HTTP date), loc= Location and refresh= Refresh (for proxy_redirect; "UP" in them
becomes the backend's own host:port), st= the status,
delay= milliseconds to wait first, html=1 a small HTML page as the body (with
</head>, </body>, links to http://UP/ and an SSI <!--# echo --> comment),
size=N a body of N bytes ("0123456789" repeated) with Accept-Ranges that honours
one Range (206, as a file server would, for slice), gz=1 the body gzipped
(Content-Encoding: gzip). The FastCGI responder takes cc=, sc= and ct= too.

The prefix also gets a logs/ directory anyone may write (nginx's workers, which run
as nobody when nginx starts as root, open an access_log with variables), cert.pem/key.pem (a self-signed certificate), dhparam.pem,
mime.types, fastcgi_params and fastcgi.conf from /etc/nginx, and html/ (index.html,
404.html, a.css, a.js, a.png, .git/config, index.php, robots.txt). NAME keeps the
configurations whose directory name contains one of the words.

For each configuration it compares the decision (accepted or refused), the file and
line of the error, its wording, and the warnings (one nginx writes without a place,
such as "ssl_stapling" ignored, matches fulcrum's with one). When the directory has a
requests.txt (one request a line: `METHOD URI [HTTP/1.0] [| Header: value | Header: value]`),
and both accept, it starts nginx and fulcrum and compares for each request: the
status, the headers listed in HEADERS below (and `Server`, with nginx's and fulcrum's own
names and versions masked, and every `x-*` and `access-control-*`
field, and any whose name has "cache" in it: X-Cache-Status, Nginx-Cache...) and the
body (sha1; the port, as in `$server_port`, masked); a file named `tls` in the directory sends them over
TLS. Requests go one after another on new connections, so a
burst against limit_req is the same sequence for both. In a request line,
`<<C*N>>` stands for N copies of C (`X-Big: <<a*9000>>`), and in the target `\\xNN` is
the raw byte NN (`/caf\\xc3\\xa9`, sent unencoded); the pseudo-headers
`@body: N` send a body of N bytes and `@proxy: ADDR` sends a PROXY protocol v1
header from ADDR first; `@port: PORT2` sends to another placeholder port; `@addr: 127.0.0.2`
(or `::1`) connects to that local address instead of 127.0.0.1 (for `listen 127.0.0.2:%%PORT%%`
or `listen [::1]:%%PORT%%` next to 127.0.0.1); `Host: @none` sends no Host line; `@tls: on`
or `off` overrides the `tls` file for the request; over TLS, `@sni: NAME` sends NAME
as SNI (and Host), `@cert: FILE.pem` presents a client certificate (key FILE.key,
both from the prefix), `@tlsmax: 1.2` caps the version (and allows old ones), the
negotiated version is compared (`@cipher: 1`: the cipher too), and `@alpn: h2,http/1.1`
makes only a handshake offering those and compares the protocol the server picked. A line
`SLEEP SECONDS` waits (in both runs) before the next request, for cache entries to
expire: until SECONDS after the start of the current second (nginx's cache clock
counts whole seconds), and a requests.txt with a SLEEP starts at the start of a
second, so the requests between two SLEEPs fall in the same second for both. The
files of html/ (and every other file in the prefix) get one fixed modification time, so ETag and Last-Modified are the
same in both runs (index.html's ETag is "6553f100-2f8"). After the requests both
are stopped and the lines of every
`*.log` file under the prefix whose name lacks "error" are compared (but the
default logs/access.log of a configuration that does not name it, which only fulcrum
writes: Debian's nginx was built with /var/log/nginx/access.log instead), and so are the
questions each asked the %%DNS%% server during the requests (name and type, in any
order: how often a name is asked shows how long an answer is kept), with times,
durations, the prefix and the placeholder ports masked (the prefix is masked in
bodies too), and so are the error logs' error, warn, crit, alert and info lines (what
fail2ban reads; not the info lines about connections the client closed) and the
notice lines that name a client (rewrite_log's), without
time, pid and connection number (limit_req's excess and temporary file names
masked); numbers one or two apart count as equal
(`fulcrum/0.1.0` in `Server` and on error pages is longer than `nginx/1.22.1`, so
byte counts differ), and a log whose lines are the same in another order counts as
equal (fulcrum serves connections concurrently: a request's line may be written
after the next request's). A line `TCP [:PORTNAME] DATA` or `UDP [:PORTNAME] DATA`
instead sends DATA over a new connection (datagram) to %%PORT%% (or %%PORTNAME%%) and
compares what comes back; `SNI NAME` sends a TLS ClientHello for NAME (for
ssl_preread) and compares the name of the echo backend that answered; `WS PATH`
sends a WebSocket upgrade request and, after a 101, "ping" through the tunnel (the
configuration must listen on %%PORT%% over TCP; `WS PATH | Host: NAME | @tls: on`
names the Host, default example.com, and speaks TLS first).

When the configuration names %%SYSLOG%% or %%SYSLOGSOCK%%, the datagrams each receiver
got are compared request by request: after each request the script waits until no
datagram has come for 0.15 s (at most 2 s), and the datagrams that came since the
previous request (those before the first request count as request 0, which is not
compared: start-up notices; those after the last, when the server stops, are not
compared either) must be the same in any order, compared as log lines: the header's time
and hostname (`<PRI>Mmm dd hh:mm:ss HOST TAG: `; the priority and tag are kept), an
error-log line's date, pid and connection number, times, durations, ports and the
prefix masked, and, as in the error logs, the debug lines (Debian's nginx-light
writes them under `debug`), the info lines about connections the client closed and
the notice lines that name no client left out. Exit status 1
when anything differs.
"""
import hashlib, os, re, shutil, socket, socketserver, struct, subprocess, sys, tempfile, threading, time
import http.client, http.server, urllib.parse

HEADERS = ("location", "cache-control", "expires", "content-type", "vary", "content-encoding",
           "x-frame-options", "x-content-type-options", "x-xss-protection", "referrer-policy",
           "strict-transport-security", "content-security-policy", "access-control-allow-origin",
           "permissions-policy", "x-robots-tag", "allow", "www-authenticate", "content-length",
           "x-cache-status", "x-cache", "x-fastcgi-cache", "x-proxy-cache", "etag", "last-modified",
           "accept-ranges", "content-range", "set-cookie", "x-accel-expires", "pragma", "transfer-encoding",
           "retry-after", "content-disposition")
HEADER_PREFIXES = ("x-", "access-control-")


MTIME = 1700000000  # 2023-11-14 22:13:20 GMT


def freeport():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if "delay" in q:
            time.sleep(int(q["delay"]) / 1000)
        lines = [f"{self.server.name} {self.command} {self.path}"]
        lines += [f"{k.lower()}: {v}" for k, v in sorted(self.headers.items())
                  if k.lower() not in ("connection", "user-agent")]
        out = ("\n".join(lines) + "\n").encode()
        status, fields = int(q.get("st", 200)), {"Content-Type": q.get("ct", "text/plain")}
        if q.get("html"):
            fields["Content-Type"] = q.get("ct", "text/html")
            out = (f"<html><head><title>t</title></head><body>\n<a href=\"http://{self.headers.get('Host')}/x\">x</a>\n"
                   "<!--# echo var=\"uri\" -->\n<pre>" + out.decode() + "</pre>\n" + "<p>filler</p>\n" * 30
                   + "</body></html>\n").encode()
        if "size" in q:
            out = (b"0123456789" * (int(q["size"]) // 10 + 1))[:int(q["size"])]
            fields["Accept-Ranges"] = "bytes"
            m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range") or "")
            if m and int(m.group(1)) < len(out):
                a = int(m.group(1)); b = min(int(m.group(2) or len(out) - 1), len(out) - 1)
                status, fields["Content-Range"] = 206, f"bytes {a}-{b}/{len(out)}"
                out = out[a:b + 1]
        if q.get("gz"):
            import gzip
            out, fields["Content-Encoding"] = gzip.compress(out, mtime=0), "gzip"
        for k, f in (("cc", "Cache-Control"), ("sc", "Set-Cookie"), ("xae", "X-Accel-Expires"), ("vary", "Vary"),
                     ("xar", "X-Accel-Redirect"),
                     ("etag", "ETag"), ("lm", "Last-Modified"), ("loc", "Location"), ("refresh", "Refresh")):
            if k in q:
                fields[f] = q[k].replace("UP", "%s:%d" % self.server.server_address[:2]) if k in ("loc", "refresh") else q[k]
        if "etag" in q and self.headers.get("If-None-Match") == q["etag"]:
            status = 304  # for proxy_cache_revalidate
        if status in (204, 304):
            out = b""  # no body, no Content-Length
        self.send_response(status)
        for k, v in fields.items():
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = answer

    def log_message(self, *a):
        pass


class Status(Echo):
    """An echo backend that answers with the status in its server's `status`
    after its server's `delay` seconds."""
    def answer(self):
        time.sleep(self.server.delay)
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        out = f"{self.server.name} {self.command} {self.path}\n".encode()
        try:
            self.send_response(self.server.status); self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
        except OSError:  # the proxy gave up first
            pass
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = answer


class TCPEcho(socketserver.BaseRequestHandler):
    """Answers "NAME:" + each chunk it reads, until the client closes."""
    def handle(self):
        self.request.settimeout(5)
        try:
            while True:
                d = self.request.recv(4096)
                if not d:
                    return
                self.request.sendall(self.server.name.encode() + b":" + d)
        except OSError:
            pass


class WSEcho(socketserver.BaseRequestHandler):
    """Reads a request head; one with Upgrade gets 101 and then the echo of
    each chunk ("ws:" + data), one without gets 426."""
    def handle(self):
        c = self.request
        c.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                d = c.recv(4096)
                if not d:
                    return
                head += d
            fields = head.split(b"\r\n\r\n")[0].decode(errors="replace").lower()
            if "\r\nupgrade:" not in fields:
                c.sendall(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            while True:
                d = c.recv(4096)
                if not d:
                    return
                c.sendall(b"ws:" + d)
        except OSError:
            pass


class OneShot(socketserver.BaseRequestHandler):
    """An HTTP/1.1 echo that keeps the connection open after its first answer
    and closes it, unanswered, when a second request comes on it (a server
    that ends idle keep-alive connections as a request arrives)."""
    def handle(self):
        c = self.request
        c.settimeout(5)
        buf, n = b"", 0
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                size = int(m.group(1)) if m else 0
                while len(buf) < size:
                    buf += c.recv(4096)
                buf = buf[size:]
                n += 1
                if n > 1:
                    return
                line = head.split(b"\r\n")[0].decode()
                out = f"oneshot {line.rsplit(' ', 1)[0]}\n".encode()
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
        except OSError:
            pass


class UDPEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(self.server.name.encode() + b":" + data, self.client_address)


class FastCGI(socketserver.BaseRequestHandler):
    """A FastCGI responder: one request a connection, answers text/plain with the
    parameters that matter for a PHP front controller."""
    SHOW = ("SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI", "QUERY_STRING",
            "DOCUMENT_URI", "REQUEST_METHOD", "HTTPS", "HTTP_PROXY", "SERVER_NAME")

    def handle(self):
        params, buf, rid = b"", b"", 1
        while True:
            head = self.read(8)
            if len(head) < 8:
                return
            _, typ, rid, clen, plen, _ = struct.unpack(">BBHHBB", head)
            body = self.read(clen + plen)[:clen]
            if typ == 4:
                params += body
            elif typ == 5 and clen == 0:
                break
        kv, i = {}, 0
        while i < len(params):
            ln = []
            for _ in range(2):
                b = params[i]
                if b < 128:
                    ln.append(b); i += 1
                else:
                    ln.append(struct.unpack(">I", params[i:i + 4])[0] & 0x7fffffff); i += 4
            kv[params[i:i + ln[0]].decode()] = params[i + ln[0]:i + ln[0] + ln[1]].decode(); i += ln[0] + ln[1]
        out = "".join(f"{k}={kv.get(k, '-')}\n" for k in self.SHOW)
        q = dict(urllib.parse.parse_qsl(kv.get("QUERY_STRING", "")))
        head = f"Content-Type: {q.get('ct', 'text/plain')}\r\nX-Powered-By: fcgi\r\n"
        head += "".join(f"{f}: {q[k]}\r\n" for k, f in (("cc", "Cache-Control"), ("sc", "Set-Cookie")) if k in q)
        data = f"{head}\r\n{out}".encode()
        rec = lambda t, c: struct.pack(">BBHHBB", 1, t, rid, len(c), 0, 0) + c
        self.request.sendall(rec(6, data) + rec(6, b"") + rec(3, b"\0" * 8))

    def read(self, n):
        b = b""
        while len(b) < n:
            c = self.request.recv(n - len(b))
            if not c:
                break
            b += c
        return b


# Names of services a configuration writes before a placeholder port or as a
# URL's host ("app:%%UP1%%", "http://api.internal/"): the DNS server's A records.
NAMES = re.compile(r"(?<=//)([A-Za-z_][A-Za-z0-9_.-]*)|([A-Za-z_][A-Za-z0-9_.-]*)(?=:%%)")


class DNS(socketserver.BaseRequestHandler):
    """A DNS server over UDP: A 127.0.0.1 (TTL 5) for the names in
    self.server.names (and *.svc.cluster.local, localhost), an empty answer
    to other types of those, NXDOMAIN for the rest (see %%DNS%%)."""
    def handle(self):
        data, sock = self.request
        if len(data) < 12:
            return
        qid, flags, qd = struct.unpack(">HHH", data[:6])
        i, labels = 12, []
        while i < len(data) and data[i]:
            labels.append(data[i + 1:i + 1 + data[i]].decode(errors="replace")); i += 1 + data[i]
        qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
        question = data[12:i + 5]
        name = ".".join(labels).lower()
        addrs = self.server.names.get(name)
        if addrs is None and (name.endswith(".svc.cluster.local") or name == "localhost"):
            addrs = ["127.0.0.1"]
        rcode, answers = (0, []) if addrs is not None else (3, [])
        if addrs and qtype == 1:
            answers = [b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(a) for a in addrs]
        self.server.asked.append((name, qtype))
        head = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
        answers = b"".join(answers)
        sock.sendto(head + question + answers, self.client_address)


def dnsnames(src):
    """The lower-cased names in the files under src that may name a service."""
    names, drop = set(), set()
    for root, _, files in os.walk(src):
        for f in files:
            try:
                text = open(os.path.join(root, f)).read()
            except (UnicodeDecodeError, OSError):
                continue
            if f == "dns.txt":  # more names, one a line; "-NAME": NXDOMAIN for NAME
                for l in text.split():
                    (drop if l.startswith("-") else names).add(l.lstrip("-").lower())
            names |= {(a or b).lower().rstrip(".") for a, b in NAMES.findall(text)}
    out = {}
    for n in sorted(names - drop, key=lambda n: "=" in n):  # "NAME=ADDR,ADDR": those A records ("NAME=": none)
        name, eq, addrs = n.partition("=")
        out[name] = [a for a in addrs.split(",") if a] if eq else ["127.0.0.1"]
    return out


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def backends():
    ports = {}
    for name in ("UP1", "UP2"):
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo); s.name = name.lower()
        ports[name] = serve(s).server_address[1]
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo); s.name = "up3"
    ports["UP3"] = serve(s).server_address[1]
    for name, status, delay in (("B502", 502, 0), ("B503", 503, 0), ("SLOW", 200, 2.5)):
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
        s.name, s.status, s.delay = name.lower(), status, delay
        ports[name] = serve(s).server_address[1]
    ports["DEAD"] = freeport()
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    for name in ("TCP1", "TCP2"):
        s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), TCPEcho); s.name = name.lower()
        ports[name] = serve(s).server_address[1]
    sock = os.path.join(tempfile.mkdtemp(prefix="realworld-sock-"), "http.sock")
    os.chmod(os.path.dirname(sock), 0o755)

    class UnixHTTP(socketserver.ThreadingUnixStreamServer):
        def get_request(self):  # BaseHTTPRequestHandler wants an address pair
            c, _ = self.socket.accept()
            return c, ("unix", 0)
    s = UnixHTTP(sock, Echo); s.name = "sock"
    os.chmod(sock, 0o777)
    serve(s)
    ports["SOCK"] = sock
    s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), OneShot)
    ports["ONESHOT"] = serve(s).server_address[1]
    s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), WSEcho)
    ports["WS"] = serve(s).server_address[1]
    for name in ("UDP1", "UDP2"):
        s = socketserver.ThreadingUDPServer(("127.0.0.1", 0), UDPEcho); s.name = name.lower()
        ports[name] = serve(s).server_address[1]
    ports["FCGI"] = serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), FastCGI)).server_address[1]
    s = socketserver.ThreadingUDPServer(("127.0.0.1", 0), DNS)
    s.names, s.asked = {}, []
    ports["DNS"] = "127.0.0.1:%d" % serve(s).server_address[1]
    global DNSSERVER
    DNSSERVER = s
    return ports


class Syslog:
    """Two syslog receivers (UDP on 127.0.0.1 and a unix datagram socket) that
    record (request number, datagram) for every datagram; see %%SYSLOG%%."""
    def __init__(self):
        self.got, self.request, self.last = [], 0, time.time()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); self.udp.bind(("127.0.0.1", 0))
        self.dir = tempfile.mkdtemp(prefix="realworld-syslog-"); os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "log.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); self.unix.bind(self.path)
        os.chmod(self.path, 0o777)  # nginx's workers run as nobody when started as root
        self.done = False
        for s in (self.udp, self.unix):  # room for a burst (error_log ... debug): a full socket drops datagrams
            try:
                s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", socket.SO_RCVBUF), 8 << 20)
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        for s in (self.udp, self.unix):
            threading.Thread(target=self.read, args=(s,), daemon=True).start()

    def read(self, s):
        s.settimeout(0.2)
        while not self.done:
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.last = time.time()
            self.got.append((self.request, ("udp " if s is self.udp else "unix ") + data.decode(errors="replace")))

    def subst(self):
        return {"SYSLOG": "127.0.0.1:%d" % self.udp.getsockname()[1], "SYSLOGSOCK": self.path}

    def settle(self):
        """Waits until no datagram has come for 0.15 s since the call (at most 2 s):
        a server logs a request after the answer has gone."""
        start = time.time()
        end = start + 2
        while time.time() < end and time.time() - max(self.last, start) < 0.15:
            time.sleep(0.02)

    def close(self):
        self.done = True
        self.udp.close(); self.unix.close()
        shutil.rmtree(self.dir, ignore_errors=True)


SYSHEAD = re.compile(r"^(udp|unix) <(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d (?:(\S+) )?(\S*): (.*)$", re.S)
ERRBODY = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$", re.S)


def syslines(got, d, ports):
    """The datagrams of got, by request number, masked (see %%SYSLOG%%)."""
    out = {}
    host = socket.gethostname().lower()
    for i, data in got:
        m = SYSHEAD.match(data)
        if not m:
            out.setdefault(i, []).append("(not syslog) " + data)
            continue
        kind, pri, name, tag, text = m.groups()
        if name is not None and name != host:  # "nohostname" with a tag: "<190>Dec  7 .. TAG: .."
            tag, text = name, tag + ": " + text if tag else text
            name = None
        e = ERRBODY.match(text)
        if e:
            if e.group(1) == "debug" or e.group(1) == "info" and CONNINFO.search(e.group(2)) or \
               e.group(1) == "notice" and ", client: " not in e.group(2):
                continue
            text = "[%s] %s" % e.groups()
        text = text.replace(d, "%%DIR%%")
        for k, v in ports.items():
            if isinstance(v, int):
                text = re.sub(r"\b%d\b" % v, k, text)
        for rx, r in TIMES:
            text = rx.sub(r, text)
        text = re.sub(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:EPHEMERAL", text)
        text = clientports(text, ports.get("~clientports", ()))
        out.setdefault(i, []).append(f"{kind} <{pri}> {'HOST ' if name else ''}{tag}: {text}")
    return out


def prepare(src, dst, subst):
    shutil.copytree(src, dst)
    for root, _, files in os.walk(dst):
        for f in files:
            p = os.path.join(root, f)
            try:
                text = open(p).read()
            except UnicodeDecodeError:
                continue
            for k, v in subst.items():
                text = text.replace(f"%%{k}%%", str(v))
            open(p, "w").write(text)
    for f in ("mime.types", "fastcgi_params", "fastcgi.conf"):
        if not os.path.exists(os.path.join(dst, f)):
            shutil.copy(os.path.join("/etc/nginx", f), dst)
    os.makedirs(os.path.join(dst, "logs"), exist_ok=True)
    os.chmod(os.path.join(dst, "logs"), 0o777)  # nginx's workers (nobody) open logs with variables in the path
    html = os.path.join(dst, "html")
    os.makedirs(os.path.join(html, ".git"), exist_ok=True)
    files = {"index.html": "<html>index</html>\n" * 40, "404.html": "<html>not here</html>\n",
             "a.css": "body { color: red; }\n" * 40, "a.js": "var a = 1;\n" * 40,
             "a.png": "\x89PNG....", ".git/config": "[core]\n", "index.php": "<?php\n",
             "robots.txt": "User-agent: *\n"}
    for rel, text in files.items():
        p = os.path.join(html, rel)
        if not os.path.exists(p):
            open(p, "w").write(text)
    for root, _, names in os.walk(dst):  # one time for both runs: the same ETag, Last-Modified
        for f in names:
            os.utime(os.path.join(root, f), (MTIME, MTIME))
    for f, cmd in (("cert.pem", ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                 "-subj", "/CN=example.com", "-keyout", os.path.join(dst, "key.pem"),
                                 "-out", os.path.join(dst, "cert.pem")]),):
        if not os.path.exists(os.path.join(dst, f)):
            subprocess.run(cmd, capture_output=True, check=True)
    dh = os.path.join(dst, "dhparam.pem")
    if not os.path.exists(dh):
        shutil.copy(DHPARAM, dh)


LEVEL = re.compile(r"\[(emerg|alert|crit|warn)\] (?:\d+#\d+: )?(.*)")
WHERE = re.compile(r"^(.*?) in (/[^ ,]+):(\d+)(?:, (.*))?$")


def messages(out, d):
    res = []
    for l in out.splitlines():
        m = LEVEL.search(l)
        if m:
            lvl, msg = m.groups()
            w = WHERE.match(msg)
            if w:
                res.append((lvl, w.group(1), os.path.relpath(w.group(2), d), int(w.group(3))))
            else:
                res.append((lvl, msg, "", 0))
    return res


# fulcrum's own warnings about what it ignores or does not implement yet.
IGNORED = re.compile(r"(is|are) ignored|does not implement")


def check(cmd, d):
    r = subprocess.run(cmd + ["-t", "-p", d + "/", "-c", d + "/nginx.conf"], capture_output=True, text=True, timeout=30)
    return r.returncode, messages(r.stdout + r.stderr, d), r.stdout + r.stderr


def waitport(port, proc, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return True
        except OSError:
            time.sleep(0.05)
    return False


def raw(ports, line):
    """Sends a TCP or UDP line's data and returns (first word, what came back)."""
    kind, rest = line.split(None, 1)
    port = ports["PORT"]
    if rest.startswith(":"):
        name, _, rest = rest.partition(" ")
        port = ports[name[1:]]
    data = rest.encode() + b"\n"
    if kind == "WS":  # an upgrade request for the path rest, then "ping" over the tunnel
        path, *opts = [p.strip() for p in rest.split("|")]
        opts = {k.strip().lower(): v.strip() for k, v in (o.split(":", 1) for o in opts)}
        return upgrade(port, path, opts.get("host", "example.com"), opts.get("@tls") == "on")
    if kind == "SNI":  # a TLS ClientHello naming rest: the echo's name comes back
        import ssl
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ssl._create_unverified_context().wrap_bio(incoming, outgoing, server_hostname=None if rest == "-" else rest)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        data = outgoing.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "UDP" else socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        if kind == "UDP":
            s.sendto(data, ("127.0.0.1", port))
            return "udp", {}, s.recv(65536).decode(errors="replace"), b""
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        got = b""  # the echo answers chunk by chunk: read until the data came back
        while not got.endswith(data):
            d = s.recv(65536)
            if not d:
                break
            got += d
        got = re.sub(rb"PROXY TCP4 (\S+) (\S+) \d+ \d+", rb"PROXY TCP4 \1 \2 PORT PORT", got)  # ports differ
        if kind == "SNI":
            got = got.split(b":", 1)[0]  # the echo's name; the rest is the hello
        return "tcp", {}, got.decode(errors="replace"), b""
    except Exception as e:
        return type(e).__name__, {}, "", b""
    finally:
        s.close()


def upgrade(port, path, host="example.com", tls=False):
    """Sends a WebSocket upgrade request for path (with that Host, over TLS when
    tls) and, after a 101, "ping"; returns the status line and what came back
    through the tunnel."""
    s = socket.create_connection(("127.0.0.1", port), 3)
    s.settimeout(3)
    try:
        if tls:
            import ssl
            s = ssl._create_unverified_context().wrap_socket(s)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
        status = head.split(b"\r\n")[0].decode(errors="replace")
        if b" 101 " not in status.encode():
            return status, {}, "", b""
        rest = head.split(b"\r\n\r\n", 1)[1]
        s.sendall(b"ping\n")
        while not rest.endswith(b"ping\n"):
            d = s.recv(4096)
            if not d:
                break
            rest += d
        return status, {}, rest.decode(errors="replace"), b""
    except Exception as e:
        return type(e).__name__, {}, "", b""
    finally:
        s.close()


# The prefix of each side: of one length, so that paths in answers and logs
# ($document_root, SCRIPT_FILENAME) have the same length on both sides.
SIDE = {"nginx": "-n", "fulcrum": "-f"}
REPEAT = re.compile(r"<<(.)\*(\d+)>>")


# The local ports of the script's HTTP connections of the current run: a
# logged $remote_port is masked as CLIENTPORT.
CLIENTPORTS = set()


def newclientports():
    """A new CLIENTPORTS set for a run."""
    global CLIENTPORTS
    CLIENTPORTS = set()
    return CLIENTPORTS


def ask(ports, line, tls, prefix):
    line = REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), line)
    parts = [p.strip() for p in line.split("|")]
    method, uri, *version = parts[0].split()
    uri = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), uri)  # raw bytes, as latin-1
    hdrs = dict(h.split(":", 1) for h in parts[1:])
    hdrs = {k.strip(): v.strip() for k, v in hdrs.items()}
    body = b"x" * int(hdrs.pop("@body", 0))
    proxy = hdrs.pop("@proxy", None)
    port = ports[hdrs.pop("@port", "PORT")]
    addr = hdrs.pop("@addr", "127.0.0.1")
    tls = {"on": True, "off": False}.get(hdrs.pop("@tls", None), tls)
    sni, cert, tlsmax = hdrs.pop("@sni", None), hdrs.pop("@cert", None), hdrs.pop("@tlsmax", None)
    alpn, cipher = hdrs.pop("@alpn", None), hdrs.pop("@cipher", None)
    if tls:
        import ssl
        ctx = ssl._create_unverified_context()
        if cert:
            ctx.load_cert_chain(os.path.join(prefix, cert), os.path.join(prefix, cert.replace(".pem", ".key")))
        if tlsmax:
            import warnings
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = getattr(ssl.TLSVersion, {"1.0": "TLSv1"}.get(tlsmax, "TLSv" + tlsmax.replace(".", "_")))
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        if alpn:  # a handshake only: the protocol the server picked
            ctx.set_alpn_protocols(alpn.split(","))
            try:
                with socket.create_connection((addr, port), 10) as raw_sock:
                    with ctx.wrap_socket(raw_sock, server_hostname=sni) as t:
                        return "ALPN", {"alpn": str(t.selected_alpn_protocol()), "tls": t.version()}, "", b""
            except Exception as e:
                return type(e).__name__, {}, "", b""
        if sni:
            c = http.client.HTTPSConnection(sni, port, timeout=10, context=ctx)
            c._create_connection = lambda _, *a, **k: socket.create_connection((addr, port), *a, **k)
            c.host = sni
        else:
            c = http.client.HTTPSConnection(addr, port, timeout=10, context=ctx)
    else:
        c = http.client.HTTPConnection(addr, port, timeout=10)
    if version == ["HTTP/1.0"]:
        c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
    c._encode_request = lambda request: request.encode("latin-1")  # a target's raw bytes (\xNN)
    try:
        if proxy:
            c.sock = socket.create_connection((addr, port), 10)
            fam = "TCP6" if ":" in proxy else "TCP4"
            dst = "::1" if fam == "TCP6" else "127.0.0.1"
            c.sock.sendall(f"PROXY {fam} {proxy} {dst} 40000 {port}\r\n".encode())
        c.putrequest(method, uri, skip_host="Host" in hdrs, skip_accept_encoding=True)
        if hdrs.get("Host") == "@none":  # no Host line at all (HTTP/1.0)
            del hdrs["Host"]
        for k, v in hdrs.items():
            c.putheader(k, v)
        if body:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders()
        CLIENTPORTS.add(c.sock.getsockname()[1])  # $remote_port: masked in the logs
        try:
            if body:
                c.send(body)
        except OSError:  # refused early (413): the answer is still there to read
            pass
        r = c.getresponse()
        body = r.read()
        if tls and c.sock is not None:  # the negotiated protocol (and cipher, when asked)
            hdrs["~tls"] = c.sock.version() + (" " + c.sock.cipher()[0] if cipher else "")
        h = {}
        for k, v in r.getheaders():  # a field sent twice (expires and add_header Cache-Control) is compared whole
            h[k.lower()] = h[k.lower()] + " | " + v if k.lower() in h else v
        keep = {k: h[k] for k in h if k in HEADERS or k.startswith(HEADER_PREFIXES) or "cache" in k}
        if "~tls" in hdrs:
            keep["~tls"] = hdrs["~tls"]
        if "location" in keep:  # each server listens on its own port
            keep["location"] = re.sub(r":%d\b" % port, ":PORT", keep["location"])
        if "expires" in keep:
            keep["expires"] = "(set)"
        if "server" in h:  # the proxy's own name masked: server_tokens, proxy_pass_header Server
            keep["server"] = re.sub(r"^(nginx|fulcrum)(/[0-9.]+)?$", r"SELF\2", h["server"]).replace("/1.22.1", "/V").replace("/0.1.0", "/V")
        if h.get("content-encoding") == "gzip":  # compressors differ byte for byte
            import gzip
            body = gzip.decompress(body)
        body = body.replace(b":%d" % port, b":PORT")  # an echoed Host: each server has its own port
        body = re.sub(rb"\b%d\b" % port, b"PORT", body)  # $server_port
        body = re.sub(rb"\b1\d{9}\.\d{3}\b", b"MSEC", body)  # an echoed $msec
        m = re.search(r"boundary=(\S+)", keep.get("content-type", ""))
        if m:  # nginx counts multipart boundaries, fulcrum draws them (documented)
            body = body.replace(m.group(1).encode(), b"BOUNDARY")
            keep["content-type"] = keep["content-type"].replace(m.group(1), "BOUNDARY")
        body = body.replace(prefix.encode(), b"%%DIR%%")  # $document_root, SCRIPT_FILENAME
        if method == "HEAD" and r.status >= 300 and h.get("content-type") == "text/html":
            keep.pop("content-length", None)  # the length of a page that names the server
        if b"fulcrum" in body or b"nginx" in body:  # the name on error pages
            body = re.sub(rb"(fulcrum|nginx)(/[0-9.]+)?", b"nginx", body)
            keep.pop("content-length", None)
        return r.status, keep, hashlib.sha1(body).hexdigest()[:10], body[:200]
    except Exception as e:  # a closed connection (444) is an answer too
        return type(e).__name__, {}, "", b""
    finally:
        c.close()


TIMES = [(re.compile(p), r) for p, r in (
    (r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}", "TIME_LOCAL"),
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", "TIME_ISO8601"),
    (r"\b\d{10}\.\d{3}\b", "MSEC"),
    (r"\b1\d{12}\b", "MSEC13"),  # $msec without its dot (Datadog's 13-digit epoch)
    (r"\b\d+\.\d{3}\b", "SECONDS"))]


NUMBER = re.compile(r"\d+")


def sameline(a, b):
    """Whether log lines a and b are equal but for numbers at most two apart."""
    if NUMBER.sub("N", a) != NUMBER.sub("N", b):
        return False
    return all(abs(int(x) - int(y)) <= 2 for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)))


ERRLINE = re.compile(r"^\S+ \S+ \[(error|warn|crit|alert|emerg|info|notice)\] \d+#\d+: (?:\*\d+ )?(.*)$")


# info lines about connections the client closed: when they come depends on
# the client's timing, not on the configuration.
CONNINFO = re.compile(r"closed keepalive connection|closed connection while waiting for request|"
                      r"while SSL handshaking|closed connection while reading client request line")


def errorlines(d, ports):
    """The error, warn, crit, alert and info lines (but CONNINFO's) and a request's
    notice lines (rewrite_log's) of the
    error logs under prefix d, without time, pid and connection number, ports and prefix masked:
    what fail2ban filters read."""
    out = []
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if not f.endswith(".log") or "error" not in f:
                continue
            for line in open(os.path.join(root, f), errors="replace"):
                m = ERRLINE.match(line.rstrip("\n"))
                if not m or m.group(1) == "info" and CONNINFO.search(m.group(2)):
                    continue
                if m.group(1) == "notice" and ", client: " not in m.group(2):
                    continue  # start and stop notices; a request's (rewrite_log) are compared
                text = m.group(1) + " " + m.group(2).replace(d, "%%DIR%%")
                for k, v in ports.items():
                    if isinstance(v, int):  # not %%SOCK%%'s path
                        text = re.sub(r"\b%d\b" % v, k, text)
                for rx, r in TIMES:  # limit_req's excess too: it depends on the timing
                    text = rx.sub(r, text)
                # nginx's compiled-in temporary directories differ from fulcrum's
                text = re.sub(r"(to a temporary file) [^, ]+", r"\1 FILE", text)
                out.append(re.sub(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:EPHEMERAL", text))
    return out


def clientports(text, mine):
    """text with the client ports of mine masked as CLIENTPORT."""
    return re.sub(r"\b\d{4,5}\b", lambda m: "CLIENTPORT" if int(m.group(0)) in mine else m.group(0), text)


def masked(line):
    """line with its numbers masked, then line: the sort key that keeps
    sameline's pairs together."""
    return NUMBER.sub("N", line), line


def loglines(d, ports):
    """The lines of the access logs under prefix d, by file, times and ports masked."""
    out = {}
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if not f.endswith(".log") or "error" in f:
                continue
            p = os.path.join(root, f)
            text = open(p, errors="replace").read().replace(d, "%%DIR%%")
            for k, v in ports.items():
                if isinstance(v, int):  # not %%SOCK%%'s path
                    text = re.sub(r"\b%d\b" % v, k, text)
            for rx, r in TIMES:
                text = rx.sub(r, text)
            out[os.path.relpath(p, d)] = clientports(text, ports.get("~clientports", ())).splitlines()
    return out


def traffic(name, src, subst, fulcrum, work, verbose):
    reqs = [l.split("#")[0].strip() for l in open(os.path.join(src, "requests.txt"))]
    reqs = [l for l in reqs if l]
    answers, procs, logs = {}, [], {}
    try:
        start_and_ask(name, src, subst, fulcrum, work, reqs, answers, procs)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    allports = answers.get("ports", {})
    for who, ports in answers.pop("ports", {}).items():
        logs[who] = loglines(os.path.join(work, name + SIDE[who]), ports)
        logs[who]["(error log)"] = errorlines(os.path.join(work, name + SIDE[who]), ports)
    dns = answers.pop("dns", {})
    sys_ = {}
    for who, rx in answers.pop("syslog", {}).items():
        rx.close()
        sys_[who] = syslines(rx.got, os.path.join(work, name + SIDE[who]), allports.get(who, {}))
    if None in answers.values():
        return [f"{name}: traffic: " + ", ".join(w for w, a in answers.items() if a is None) + " did not start"]
    out = []
    for i, (r, n, f) in enumerate(zip(reqs, answers["nginx"], answers["fulcrum"]), 1):
        if verbose:
            cs = lambda a: next((v for k, v in a[1].items() if "cache" in k and k != "cache-control"), "")
            print(f"    #{i} {r[:60]:60} nginx {n[0]} {cs(n):8} fulcrum {f[0]} {cs(f)}")
        if n[:3] != f[:3]:
            out.append(f"{name}: #{i} {r}\n    nginx   {n[0]} {n[1]} {n[2]}\n    fulcrum {f[0]} {f[1]} {f[2]}")
            if verbose:
                out.append(f"    nginx body {n[3]!r}\n    fulcrum body {f[3]!r}")
    if verbose and dns.get("nginx"):
        print(f"    DNS questions: nginx {dns.get('nginx')}")
    if dns.get("nginx") != dns.get("fulcrum"):  # what each asked the DNS server (name, type), in any order
        out.append(f"{name}: DNS questions\n    nginx   {dns.get('nginx')}\n    fulcrum {dns.get('fulcrum')}")
    for i in range(1, len(reqs) + 1):  # the datagrams after each request, in any order
        n, fl = sys_.get("nginx", {}).get(i, []), sys_.get("fulcrum", {}).get(i, [])
        if verbose and n:
            print(f"    #{i} syslog: nginx {n}")
        if len(n) == len(fl) and all(map(sameline, sorted(n, key=masked), sorted(fl, key=masked))):
            continue
        out.append(f"{name}: #{i} {reqs[i - 1]}: syslog\n    nginx   {sorted(n)}\n    fulcrum {sorted(fl)}")
    nlogs, flogs = logs.get("nginx", {}), logs.get("fulcrum", {})
    for f in sorted(set(nlogs) | set(flogs)):
        n, fl = nlogs.get(f), flogs.get(f)
        if n is None and f == "logs/access.log" and not any(
                "logs/access.log" in open(os.path.join(r, x), errors="replace").read()
                for r, _, xs in os.walk(src) for x in xs):
            continue  # the default access log: Debian's nginx writes /var/log/nginx/access.log
        if n is None or fl is None:
            out.append(f"{name}: log {f}: written by {'fulcrum' if n is None else 'nginx'} only")
            continue
        if len(n) == len(fl) and all(map(sameline, sorted(n, key=masked), sorted(fl, key=masked))):
            continue  # the same lines; two requests' lines may swap (fulcrum's run concurrently)
        for i in range(max(len(n), len(fl))):
            a, b = (n[i] if i < len(n) else "(none)"), (fl[i] if i < len(fl) else "(none)")
            if not sameline(a, b):
                out.append(f"{name}: log {f} line {i + 1}\n    nginx   {a}\n    fulcrum {b}")
    return out


def start_and_ask(name, src, subst, fulcrum, work, reqs, answers, procs):
    """Starts nginx and fulcrum (appending them to procs) and fills answers."""
    uses = any("%%SYSLOG" in open(os.path.join(r, f), errors="replace").read()
               for r, _, fs in os.walk(src) for f in fs)
    for who in ("nginx", "fulcrum"):
        s = dict(subst, PORT=freeport(), PORT2=freeport(), PORT3=freeport())
        rx = Syslog()
        answers.setdefault("syslog", {})[who] = rx
        s.update(rx.subst())
        answers.setdefault("ports", {})[who] = s
        d = os.path.join(work, name + SIDE[who])
        prepare(src, d, dict(s, DIR=d))
        cmd = (["nginx", "-g", "daemon off;"] if who == "nginx" else [fulcrum]) + ["-p", d + "/", "-c", d + "/nginx.conf"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        tls = os.path.exists(os.path.join(src, "tls"))
        if not waitport(s["PORT"], p):
            answers[who] = None
            continue
        time.sleep(0.3)  # let the probe's connection end: in a stream server it is a session
        if any(r.startswith("SLEEP ") for r in reqs):
            pause("SLEEP 0")
        answers[who] = []
        DNSSERVER.asked = []
        s["~clientports"] = newclientports()
        if uses:
            rx.settle()
        for n, r in enumerate(reqs, 1):
            rx.request = n
            if r.startswith(("TCP ", "UDP ", "SNI ", "WS ")):
                answers[who].append(raw(s, r))
            else:
                a = pause(r) or ask(s, r, tls, d)
                answers[who].append((a[0], {k: v.replace(d, "%%DIR%%") for k, v in a[1].items()}) + tuple(a[2:]))
            if uses:
                rx.settle()
        rx.request = len(reqs) + 1
        answers.setdefault("dns", {})[who] = sorted(DNSSERVER.asked)


def pause(line):
    """Sleeps for a `SLEEP SECONDS` line and answers it with a constant. nginx
    times cache entries in whole seconds (an entry stored in second S with
    proxy_cache_valid 1s is fresh through second S+1), so the sleep ends
    SECONDS after the start of the current second, plus 50ms: both servers
    then see the requests on each side of it in the same seconds."""
    if line.startswith("SLEEP "):
        now = time.time()
        time.sleep(max(0, int(now) + float(line.split()[1]) + 0.05 - now))
        return ("SLEEP", {}, "", b"")
    return None


def main():
    if len(sys.argv) < 3:
        print(__doc__); sys.exit(2)
    fulcrum, root, names = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    verbose = os.environ.get("V") == "1"
    work = tempfile.mkdtemp(prefix="realworld-")
    os.chmod(work, 0o755)  # nginx's workers run as nobody when started as root
    global DHPARAM
    DHPARAM = os.path.join(work, "dhparam.pem")
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
                    "-out", DHPARAM], capture_output=True, check=True)
    subst = backends()
    bad = 0
    try:
        for name in sorted(os.listdir(root)):
            src = os.path.join(root, name)
            if not os.path.isdir(src) or (names and not any(w in name for w in names)):
                continue
            d = os.path.join(work, name)
            DNSSERVER.names = dnsnames(src)
            prepare(src, d, dict(subst, DIR=d, PORT=freeport(), PORT2=freeport(), PORT3=freeport(),
                                 SYSLOG="127.0.0.1:%d" % freeport(), SYSLOGSOCK=os.path.join(d, "syslog.sock")))
            nrc, nmsg, nout = check(["nginx"], d)
            frc, fmsg, fout = check([fulcrum], d)
            diffs = []
            nerr = [m for m in nmsg if m[0] != "warn"]
            ferr = [m for m in fmsg if m[0] != "warn"]
            if (nrc == 0) != (frc == 0):
                diffs.append("ACCEPT/REFUSE" if nrc == 0 else "REFUSE/ACCEPT")
            elif nrc and nerr and ferr and nerr[0][1:] != ferr[0][1:] and not (nerr[0][2:] == ("", 0) and nerr[0][1] == ferr[0][1]):
                # (nginx names no place for OpenSSL's load errors; fulcrum's
                # place with the same words is the same error, as for warnings)
                diffs.append(f"ERROR nginx {nerr[0][1:]} fulcrum {ferr[0][1:]}")
            nw = sorted(m[1:] for m in nmsg if m[0] == "warn")
            fw = sorted(m[1:] for m in fmsg if m[0] == "warn" and not IGNORED.search(m[1]))
            # nginx writes some warnings without a place (its merge and
            # OpenSSL steps: "ssl_stapling" ignored ...); fulcrum's place
            # then counts as the same warning.
            fw = sorted((w[0], "", 0) if (w[0], "", 0) in nw else w for w in fw)
            if nw != fw and not nrc and not frc:  # a refusal stops before later warnings
                diffs.append(f"WARNINGS nginx {nw} fulcrum {fw}")
            status = "refused by both" if nrc and frc else ("accepted by both" if not nrc and not frc else "")
            print(f"{'DIFF' if diffs else 'SAME'} {name}: {status} {'; '.join(diffs)}")
            if diffs or verbose:
                print("  nginx:  ", nout.strip().replace("\n", "\n           "))
                print("  fulcrum:", fout.strip().replace("\n", "\n           "))
            bad += bool(diffs)
            if not nrc and not frc and os.path.exists(os.path.join(src, "requests.txt")):
                out = traffic(name, src, subst, fulcrum, work, verbose)
                print("  traffic:", "same" if not out else f"{len(out)} differ")
                for l in out:
                    print("  " + l)
                bad += bool(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
