#!/usr/bin/env python3
"""Differential sweep of the stream block: run the same scenarios against nginx
1.22.1 (nginx-light with libnginx-mod-stream: apt-get install libnginx-mod-stream)
and fulcrum, and print SAME or DIFF with both sides' answers.

  python3 scripts/stream-nginx-sweep.py FULCRUM_BIN [SCENARIO_SUBSTRING]   (V=1: print all)

Backends on 127.0.0.1: E1..E3 echo TCP ("NAME:" + data), C closes at once, S never
answers, H never accepts (a full accept queue: connects time out), D and D9 nothing
listens on; UE/U2 echo UDP (U2 answers twice), US never answers, UD nothing listens on.
For each scenario each server runs the same stream block on its own port with
error_log info; the client side (bytes received, how and when the connection ended,
rounded to 0.5 s), the access log ($status, bytes, $upstream_*, times rounded) and the
error log's session lines (ports named, *N for the connection number) are compared.
Some differences are timing races, not behaviour: whether a client that sends at once
sees a reset or a FIN when the server closes at once, and the order of lines of
sessions that overlap.
"""
import os, re, socket, subprocess, sys, tempfile, threading, time

BIN = sys.argv[1]
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""


def freeport(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---- backends ---------------------------------------------------------------
def serve_tcp(name, mode):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    if mode == "blackhole":
        ls.listen(0)
        # fill the accept queue so that further SYNs are dropped
        hold = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(ls.getsockname())
            except BlockingIOError:
                pass
            hold.append(c)
        serve_tcp.hold = getattr(serve_tcp, "hold", []) + hold + [ls]
        return ls.getsockname()[1]
    ls.listen(128)

    def handle(c):
        try:
            if mode == "close":
                c.close()
                return
            while True:
                d = c.recv(65536)
                if not d:
                    break
                if mode == "echo":
                    c.sendall(name.encode() + b":" + d)
            c.close()
        except OSError:
            pass

    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]


def serve_udp(name, mode):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))

    def loop():
        while True:
            d, a = s.recvfrom(65536)
            if mode == "echo":
                s.sendto(name.encode() + b":" + d, a)
            elif mode == "echo2":
                s.sendto(name.encode() + b":" + d + b"#1", a)
                s.sendto(name.encode() + b":" + d + b"#2", a)

    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


B = {}
for n in ("E1", "E2", "E3"):
    B[n] = serve_tcp(n, "echo")
B["C"] = serve_tcp("C", "close")
B["S"] = serve_tcp("S", "silent")
B["H"] = serve_tcp("H", "blackhole")
B["D"] = freeport()
B["D9"] = freeport()
B["UE"] = serve_udp("UE", "echo")
B["U2"] = serve_udp("U2", "echo2")
B["US"] = serve_udp("US", "silent")
B["UD"] = freeport(socket.SOCK_DGRAM)
PORT = [0]
NAMES = {str(v): k for k, v in B.items()}

LOGFMT = ('log_format t "$status $bytes_sent $bytes_received [$upstream_addr] '
          '[$upstream_bytes_sent] [$upstream_bytes_received] [$upstream_connect_time] [$upstream_first_byte_time] [$upstream_session_time] $session_time";')


# ---- clients ----------------------------------------------------------------
def bucket(t):
    # rough seconds: 0, 0.5, 1, 1.5 ...
    return round(t * 2) / 2


def tcp_session(port, data, wait, delay=0.0, close_after=None):
    """connect, optionally wait delay, send data, read until close or wait."""
    t0 = time.time()
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", port))
    except OSError as e:
        return "connect-failed %s" % e.errno
    if delay:
        time.sleep(delay)
    try:
        if data:
            s.sendall(data)
    except OSError as e:
        return "send-error %s" % e.errno
    got = b""
    end = time.time() + wait
    how = "open"
    while True:
        left = end - time.time()
        if close_after is not None and time.time() - t0 >= close_after:
            how = "client-closed"
            break
        if left <= 0:
            break
        s.settimeout(min(left, 0.05) if close_after is not None else left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            how = "RST"
            break
        if not d:
            how = "EOF"
            break
        got += d
    s.close()
    return "%r %s after~%.1fs" % (got, how, bucket(time.time() - t0))


def tcp_reset(port, data, delay):
    t0 = time.time()
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    s.sendall(data)
    time.sleep(delay)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    return "reset sent"


def udp_session(port, datagrams, wait, sock=None):
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
        time.sleep(0.05)
    s.settimeout(0.05)
    got = []
    end = time.time() + wait
    while time.time() < end:
        try:
            d, _ = s.recvfrom(65536)
            got.append(d)
        except socket.timeout:
            pass
        except ConnectionRefusedError:
            got.append(b"<ICMP refused>")
    if sock is None:
        s.close()
    return repr(got)


# ---- servers ----------------------------------------------------------------
def render(body, port, d):
    txt = body
    for k in sorted(B, key=len, reverse=True):
        txt = txt.replace("{" + k + "}", str(B[k]))
    txt = txt.replace("{P}", str(port)).replace("{DIR}", d)
    return txt


def start(kind, body, port):
    d = tempfile.mkdtemp(prefix="sweep-%s-" % kind)
    stream = render(body, port, d)
    head = "error_log %s/error.log info;\npid %s/p.pid;\nevents { worker_connections 64; }\n" % (d, d)
    if kind == "nginx":
        head = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + head
    conf = head + "stream {\n" + LOGFMT + "\naccess_log %s/access.log t;\n" % d + stream + "\n}\n"
    path = os.path.join(d, "nginx.conf")
    open(path, "w").write(conf)
    if kind == "nginx":
        cmd = ["nginx", "-p", d + "/", "-c", path, "-e", d + "/error.log", "-g", "daemon off; master_process off;"]
    else:
        cmd = [BIN, "-p", d + "/", "-c", path, "-e", d + "/error.log"]
    p = subprocess.Popen(cmd, stdout=open(d + "/out", "w"), stderr=subprocess.STDOUT)
    kind_ = socket.SOCK_DGRAM if "listen 127.0.0.1:{P} udp" in body or "listen 127.0.0.1:{P} udp" in body else socket.SOCK_STREAM
    for _ in range(100):
        if p.poll() is not None:
            print("   %s died:" % kind, open(d + "/out").read())
            break
        t = socket.socket(socket.AF_INET, kind_)
        try:
            t.bind(("127.0.0.1", port))
            t.close()
            time.sleep(0.05)
        except OSError:
            t.close()
            time.sleep(0.1)
            break
    for f in ("access.log", "error.log"):
        open(os.path.join(d, f), "a").close()
    p.cut = {f: os.path.getsize(os.path.join(d, f)) for f in ("access.log", "error.log")}
    return p, d


def norm(line):
    line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", "", line)
    line = re.sub(r"\d+#\d+: \*\d+ ", "*N ", line)
    line = re.sub(r"\d+#\d+: ", "", line)
    line = line.replace(":%d" % PORT[0], ":P")
    line = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: "127.0.0.1:" + NAMES.get(m.group(1), "X"), line)
    line = re.sub(r"(\d+\.\d\d\d)", lambda m: "%.1f" % bucket(float(m.group(1))), line)
    return line


def collect(p, d):
    time.sleep(0.3)
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
    out = {}
    for f in ("access.log", "error.log"):
        txt = open(os.path.join(d, f), "rb").read()[p.cut[f]:].decode(errors="replace")
        lines = [norm(l) for l in txt.splitlines()]
        if f == "error.log":
            lines = [l for l in lines if "*N" in l or "[warn]" in l or "[error]" in l or "[crit]" in l or "[alert]" in l]
            lines = [l for l in lines if "signal" not in l and "exiting" not in l and "gracefully" not in l]
        out[f] = lines
    return out


def run(sc):
    name, body, steps = sc
    res = {}
    for kind in ("nginx", "fulcrum"):
        port = freeport(socket.SOCK_DGRAM if "udp" in body else socket.SOCK_STREAM)
        PORT[0] = port
        p, d = start(kind, body, port)
        r = []
        for st in steps:
            r.append(st(port))
        logs = collect(p, d)
        r += ["A: " + l for l in logs["access.log"]]
        r += ["E: " + l for l in logs["error.log"]]
        res[kind] = r
    same = res["nginx"] == res["fulcrum"]
    print(("SAME " if same else "DIFF ") + name)
    if not same or os.environ.get("V"):
        for kind in ("nginx", "fulcrum"):
            for l in res[kind]:
                print("   %-7s %s" % (kind, l))
    sys.stdout.flush()


T = lambda data=b"hi", wait=2.0, **kw: (lambda port: tcp_session(port, data, wait, **kw))
U = lambda dgs, wait=1.5: (lambda port: udp_session(port, dgs, wait))


def par(*steps):
    def go(port):
        out = [None] * len(steps)
        ths = []
        for i, st in enumerate(steps):
            def w(i=i, st=st):
                time.sleep(0.1 * i)
                out[i] = st(port)
            ths.append(threading.Thread(target=w))
            ths[-1].start()
        for t in ths:
            t.join()
        return " || ".join(out)
    return go


def srv(lines):
    return "server { listen 127.0.0.1:{P}; proxy_timeout 1s; proxy_connect_timeout 1s;\n" + lines + "\n}"


SC = [
    ("client resets", srv("proxy_pass 127.0.0.1:{E1};"), [lambda port: tcp_reset(port, b"hi", 0.3)]),
    ("client closes echo", srv("proxy_pass 127.0.0.1:{E1};"), [T(wait=2, close_after=0.3)]),
    ("udp silent responses 1", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 1; proxy_pass 127.0.0.1:{US}; }", [U([b"a"], 2.0)]),
    ("udp requests 2 responses 1 silent", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_requests 2; proxy_responses 1; proxy_pass 127.0.0.1:{US}; }", [U([b"a"], 2.0)]),
    ("nolive two dead", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{D9}; }\n" + srv("proxy_pass u;"), [T(b"", wait=1), T(b"", wait=1)]),
    ("nolive backup dead", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{D9} backup; }\n" + srv("proxy_pass u;"), [T(b"", wait=1), T(b"", wait=1)]),
    ("nolive with data", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{D9} backup; }\n" + srv("proxy_pass u;"), [T(b"hi", wait=1, delay=0.2), T(b"hi", wait=1, delay=0.2)]),
    ("wildcard listen", "server { listen {P}; proxy_timeout 1s; proxy_pass 127.0.0.1:{D}; }", [T()]),
    ("udp wildcard listen", "server { listen {P} udp; proxy_timeout 1s; proxy_pass 127.0.0.1:{UE}; }", [U([b"a"])]),
    ("echo", srv("proxy_pass 127.0.0.1:{E1};"), [T()]),
    ("closer", srv("proxy_pass 127.0.0.1:{C};"), [T()]),
    ("silent timeout", srv("proxy_pass 127.0.0.1:{S};"), [T(wait=3)]),
    ("refused single", srv("proxy_pass 127.0.0.1:{D};"), [T()]),
    ("connect timeout", srv("proxy_pass 127.0.0.1:{H};"), [T(wait=3)]),
    ("client closes first", srv("proxy_pass 127.0.0.1:{S};"), [T(wait=3, close_after=0.3)]),
    ("failover on", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u;"), [T(), T(), T()]),
    ("failover off", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u; proxy_next_upstream off;"), [T(), T(), T()]),
    ("tries 2", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{D9}; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u; proxy_next_upstream_tries 2;"), [T(), T()]),
    ("all down", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{H}; }\n" + srv("proxy_pass u;"), [T(wait=3), T(wait=3), T(wait=3)]),
    ("next_upstream_timeout", "upstream u { server 127.0.0.1:{H}; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u; proxy_next_upstream_timeout 500ms;"), [T(wait=3)]),
    ("max_fails", "upstream u { server 127.0.0.1:{D} max_fails=2 fail_timeout=10s; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u;"), [T(), T(), T(), T(), T(), T()]),
    ("max_fails 0", "upstream u { server 127.0.0.1:{D} max_fails=0; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u;"), [T(), T(), T(), T()]),
    ("backup", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{E2} backup; }\n" + srv("proxy_pass u;"), [T(), T(), T()]),
    ("backup all down", "upstream u { server 127.0.0.1:{D}; server 127.0.0.1:{D} backup; }\n" + srv("proxy_pass u;"), [T(), T()]),
    ("single server down twice", "upstream u { server 127.0.0.1:{D}; }\n" + srv("proxy_pass u;"), [T(), T(), T()]),
    ("rr weights", "upstream u { server 127.0.0.1:{E1} weight=2; server 127.0.0.1:{E2}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 6),
    ("hash", "upstream u { hash $remote_addr; server 127.0.0.1:{E1}; server 127.0.0.1:{E2}; server 127.0.0.1:{E3}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 3),
    ("hash consistent", "upstream u { hash $remote_addr consistent; server 127.0.0.1:{E1}; server 127.0.0.1:{E2}; server 127.0.0.1:{E3}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 3),
    ("hash failover", "upstream u { hash $remote_addr; server 127.0.0.1:{D}; server 127.0.0.1:{E2}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 3),
    ("least_conn", "upstream u { least_conn; server 127.0.0.1:{E1}; server 127.0.0.1:{E2}; }\n" + srv("proxy_pass u;"), [par(T(wait=1.0), T(wait=1.0), T(wait=0.5))]),
    ("random one server", "upstream u { random; server 127.0.0.1:{E1}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 2),
    ("random two least_conn down", "upstream u { random two least_conn; server 127.0.0.1:{D}; server 127.0.0.1:{D}; }\n" + srv("proxy_pass u;"), [T(wait=0.5)] * 2),
    ("return vars", srv('return "$remote_addr $protocol $status $connection\\n";'), [T(b"", wait=1)]),
    ("return map set geo", 'map $remote_addr $m { 127.0.0.1 loop; default other; }\ngeo $g { default no; 127.0.0.0/8 lo; }\n' + srv('set $s "v-$m";\nreturn "$m $g $s\\n";'), [T(b"", wait=1)]),
    ("return empty var", 'map $remote_addr $m { default ""; }\n' + srv('return "[$m][$bytes_received][$session_time]\\n";'), [T(b"", wait=1)]),
    ("deny", srv("deny 127.0.0.1; proxy_pass 127.0.0.1:{E1};"), [T()]),
    ("allow other deny all", srv("allow 10.0.0.0/8; deny all; proxy_pass 127.0.0.1:{E1};"), [T()]),
    ("deny with return", srv("deny all; return ok;"), [T(b"", wait=1)]),
    ("limit_conn", "limit_conn_zone $binary_remote_addr zone=z:1m;\n" + srv("limit_conn z 1; proxy_pass 127.0.0.1:{E1};"), [par(T(wait=1.0), T(wait=0.5))]),
    ("limit_conn level warn", "limit_conn_zone $binary_remote_addr zone=z:1m;\n" + srv("limit_conn z 1; limit_conn_log_level warn; proxy_pass 127.0.0.1:{E1};"), [par(T(wait=1.0), T(wait=0.5))]),
    ("limit_conn dry", "limit_conn_zone $binary_remote_addr zone=z:1m;\n" + srv("limit_conn z 1; limit_conn_dry_run on; proxy_pass 127.0.0.1:{E1};"), [par(T(wait=1.0), T(wait=0.5))]),
    ("proxy_timeout active", srv("proxy_pass 127.0.0.1:{E1};"), [T(wait=2.5)]),
    ("udp echo", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_pass 127.0.0.1:{UE}; }", [U([b"a"]), U([b"b", b"c"], 2.0)]),
    ("udp responses 1", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 1; proxy_pass 127.0.0.1:{UE}; }", [U([b"a"]), U([b"b", b"c"])]),
    ("udp responses 2 of echo2", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 2; proxy_pass 127.0.0.1:{U2}; }", [U([b"a"])]),
    ("udp responses 1 of echo2", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 1; proxy_pass 127.0.0.1:{U2}; }", [U([b"a"])]),
    ("udp responses 0", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 0; proxy_pass 127.0.0.1:{UE}; }", [U([b"a"])]),
    ("udp requests 1", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_requests 1; proxy_pass 127.0.0.1:{UE}; }", [U([b"a", b"b"], 2.0)]),
    ("udp requests 2 responses 1", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_requests 2; proxy_responses 1; proxy_pass 127.0.0.1:{UE}; }", [U([b"a", b"b", b"c"], 2.0)]),
    ("udp silent", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_pass 127.0.0.1:{US}; }", [U([b"a"], 2.0)]),
    ("udp dead", "server { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_pass 127.0.0.1:{UD}; }", [U([b"a", b"b"], 2.0)]),
    ("udp return", "server { listen 127.0.0.1:{P} udp; return \"$remote_addr\\n\"; }", [U([b"a"], 0.5)]),
    ("udp failover", "upstream u { server 127.0.0.1:{UD}; server 127.0.0.1:{UE}; }\nserver { listen 127.0.0.1:{P} udp; proxy_timeout 1s; proxy_responses 1; proxy_pass u; }", [U([b"a"], 1.5), U([b"b"], 1.5)]),
]

for sc in SC:
    if ONLY in sc[0]:
        run(sc)
