#!/usr/bin/env python3
"""Differential sweep of static file serving and the body/head filters: the same
configs and requests against nginx 1.22.1 and fulcrum, compared field by field.

  python3 scripts/static-filters-nginx-sweep.py FULCRUM_BIN [GROUP...]
  (V=1: name every request; FULL=1: whole answers in diffs; SHOW=TEXT: print
  nginx's answer to the requests whose line contains TEXT; KEEP=1: keep the files;
  KA=1: send each request without "Connection: close", a second request after it
  on the same connection, and compare both answers)

What is compared, for every request: the status line, the header fields (names,
values and order), whether the body is chunked, and the body. A gzip-encoded body is
decoded and compared decoded (the compressed bytes and their length differ by zlib and
Go's compress/gzip, which is accepted); the multipart boundary is masked; Date and
Server are masked; an Expires near Date is printed relative to it. Both servers read
the same document root, made here with fixed mtimes, so Last-Modified and ETag match.

Groups: static (root, alias, index, autoindex html/json/xml, HEAD, ranges, If-Range,
conditional requests, etag, if_modified_since, expires, default_type, types,
max_ranges, add_header), gzip (gzip_* on static and proxied bodies, gunzip),
gzip_static, sub (sub_filter), addition, charset, types (without mime.types), misc
(error_page with filters, ssi_value_length, gzip_min_length edges, filters
combined), ssi. A small Python backend on 127.0.0.1 answers
the proxied requests (/TYPE?h=Name:Value adds fields, ?s=N answers N, ?chunked=1 chunks). Requests go one
at a time, one connection each (Connection: close); a run takes a few seconds. Expected differences (documented in docs/directives.md, "Where
fulcrum differs from nginx") are listed in EXPECTED; any other difference exits 1.
"""
import gzip, http.server, os, re, shutil, socket, socketserver, subprocess, sys, tempfile, threading, time, zlib
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, parse_qs

KA = os.environ.get("KA") == "1"  # each request kept alive, a second one after it
MTIME = 1704164645  # Tue, 02 Jan 2024 03:04:05 GMT
HTML = b"<html><head><title>T</title></head>\n<body>\nHello World, hello world. HELLO.\n</body>\n</html>\n"
TEXT = b"".join(b"line %03d of the text file, some words to compress\n" % i for i in range(40))

def straddle(fill, marks, size):
    """size bytes of fill with each mark placed across the offsets 32768*k."""
    b = bytearray((fill * (size // len(fill) + 1))[:size])
    for k, m in enumerate(marks, 1):
        at = 32768 * k - len(m) // 2
        b[at:at + len(m)] = m
    return bytes(b)

BIG = straddle(b"<p>abc Hello xyz</p>\n", [b"Hello World", b"HELLO", b"Hello", b"Hello World"], 200000)
BIGSSI = straddle(b"text text text\n", [b'<!--# echo var="uri" -->', b'<!--# set var="v" value="vvv" -->',
                                        b'<!--# echo var="v" -->', b'<!--# include virtual="/ssi/inc.html" -->'], 150000)

def freeport():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def make_root(root):
    files = {
        "index.html": HTML, "a.txt": TEXT, "small.txt": b"tiny\n", "empty.txt": b"",
        "data.json": b'{"k": "value value value value value value value value"}\n',
        "x.bin": b"\x00\x01binary" * 10, "noext": b"no extension here\n", "x.foo": b"foo type\n",
        "page.html": HTML, "koi.html": "<p>Привет</p>\n".encode("koi8-r"), "u8.html": "<p>Привет</p>\n".encode(),
        "dir/f1.txt": b"one\n", "dir/with space.txt": b"sp\n", "dir/a&b<c>.txt": b"amp\n",
        "dir/" + "long" * 16 + ".txt": b"long name\n", "dir/sub/s.txt": b"s\n", "dir/big.bin": b"b" * 123456,
        "dir/ü.txt": b"u\n",
        "idx/index.html": b"idx index\n", "idx2/other.html": b"other index\n",
        "ssi/inc.html": b"[inc]", "ssi/inc2.html": b"[inc2 <!--# echo var=\"x\" -->]",
        "ssi/a.shtml": b'<!--# set var="x" value="hello" -->x=<!--# echo var="x" -->|'
                       b'<!--# include virtual="/ssi/inc.html" -->|<!--# include file="inc.html" -->|'
                       b'<!--# if expr="$x = hello" -->yes<!--# elif expr="$x" -->elif<!--# else -->no<!--# endif -->|'
                       b'<!--# echo var="nonexist" default="dflt" -->|<!--# echo var="nonexist" -->|\n',
        "ssi/b.shtml": b'<!--# config errmsg="ERR" --><!--# include virtual="/ssi/none.html" -->|'
                       b'<!--# bogus -->|<!--# include -->|<!--# echo -->|<!--# config timefmt="%Y" --><!--# echo var="date_gmt" -->|\n',
        "ssi/c.shtml": b'<!--# set var="h" value="<a&b> x\'y" --><!--# echo var="h" -->|'
                       b'<!--# echo var="h" encoding="none" -->|<!--# echo var="h" encoding="url" -->|'
                       b'<!--# echo var="h" encoding="entity" -->|<!--# echo var="arg_q" default="none" -->|'
                       b'<!--# set var="v" value="pre$arg_q post" --><!--# echo var="v" -->|\n',
        "ssi/d.shtml": b'<!--# set var="x" value="abc123" -->'
                       b'<!--# if expr="$x = /b([0-9]+)/" -->m1=$1<!--# endif -->|'
                       b'<!--# if expr="$x != abc" -->ne<!--# endif -->|'
                       b'<!--# if expr="!$y" -->noy<!--# endif -->|'
                       b'<!--# if expr="$x" -->nonempty<!--# else -->empty<!--# endif -->|'
                       b'<!--# if expr="$x = \'abc123\'" -->q<!--# endif -->|'
                       b'<!--# include virtual="/ssi/inc2.html" -->|'
                       b'<!--# include virtual="/p/text" set="pv" --><!--# echo var="pv" -->|\n',
        "ssi/e.shtml": b'<!--# block name="one" -->BLOCK<!--# endblock -->'
                       b'<!--# include virtual="/ssi/none.html" stub="one" -->|'
                       b'<!--# include virtual="/p/html" -->|<!--# include virtual="/ssi/inc.html?a=1" wait="yes" -->|'
                       b'<!--#echo var="x"-->|<!--# echo var="x" --|<!--# nope\n',
        "ssi/f.shtml": b'<!--# echo var="DOCUMENT_URI" -->|<!--# echo var="QUERY_STRING_UNESCAPED" -->|'
                       b'<!--# echo var="DOCUMENT_NAME" -->|<!--# echo var="args" -->|'
                       b'<!--# include virtual="/ssi/inc.html?$args" -->|<!--# include virtual="inc.html" -->|'
                       b'<!--# include virtual="/ssi/q.shtml?x=1" -->|<!--# include file="/ssi/inc.html" -->|'
                       b'<!--# if expr="$arg_a = 1" -->A1<!--# elif expr="$arg_a = 2" -->A2<!--# else -->A?<!--# endif -->|'
                       b'<!--# if expr="$arg_a" --><!--# if expr="$arg_b" -->AB<!--# else -->A<!--# endif --><!--# endif -->|'
                       b'<!--# set var="e" value="" --><!--# if expr="$e" -->E<!--# else -->noE<!--# endif -->|'
                       b'<!--# if expr="$arg_a != /^[0-9]+$/" -->nonnum<!--# endif -->|\n',
        "ssi/q.shtml": b'[q <!--# echo var="args" --> <!--# echo var="uri" -->]',
        "ssi/g.shtml": b'<!--# config timefmt="%A %d %B %Y %j %%" -->'
                       b'<!--# echo var="LAST_MODIFIED" -->|<!--# echo var="DATE_GMT" encoding="none" -->|\n',
        "a.txt.gz": gzip.compress(TEXT, mtime=0),
        "t/x.svg": b"<svg/>", "t/x.js": b"js", "t/x.css": b"css", "t/x.woff2": b"w", "t/x.mp4": b"m",
        "t/x.wasm": b"w", "t/x.md": b"md", "t/x.jpg": b"j", "t/x.JPG": b"J", "t/x.gif": b"g", "t/x.htm": b"h",
        "t/x.tar.gz": b"tgz", "t/x": b"none", "t/.hidden": b"hid", "t/x.": b"dot",
        "ssi/h.shtml": b'<!--# set var="long" value="abcdefghijklmnop" --><!--# echo var="long" -->|'
                       b'<!--# include virtual="/p/html?s=404" -->|<!--# include virtual="/p/text" set="t" -->'
                       b'<!--# echo var="t" -->|<!--# include virtual="/ssi/inc.html" set="i" --><!--# echo var="i" -->|\n',
        "ssi/i.shtml": b'a<!--# include virtual="/ssi/i.shtml" -->b\n',
        "err/404.html": b"custom 404 Hello <!--# echo var=\"uri\" -->\n",
        "min/20.txt": b"x" * 20, "min/19.txt": b"x" * 19, "min/21.txt": b"x" * 21,
        "big.html": BIG, "ssi/big.shtml": BIGSSI,
        "ssi/plain.txt": b'<!--# echo var="uri" -->\n',
        "add/before.html": b"[before]", "add/after.html": b"[after]",
    }
    for name, data in files.items():
        p = os.path.join(root, name); os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f: f.write(data)
    # autoindex: names to escape and to cut, sizes around the units (sparse files)
    ai = os.path.join(root, "ai2"); os.makedirs(ai + "/Sub dir", exist_ok=True); os.makedirs(ai + "/a&b", exist_ok=True)
    sizes = {"s0": 0, "s1023": 1023, "s1024": 1024, "s1536": 1536, "s10239": 10239, "s10240": 10240,
             "s1048575": 1048575, "s1048576": 1048576, "s5g": 5 * 1024 ** 3, "s999999999999": 999999999999}
    names = {'a"b.txt': 1, "q?x": 1, "h#x": 1, "p%20x": 1, "é" * 60: 1, "<script>": 1, "B-upper": 1, "b-lower": 1,
             "x" * 49 + ".txt": 1, "y" * 50: 1, "z" * 51: 1, "ab\\c": 1, "tab\tname": 1, "sp ace": 1}
    for n, size in list(sizes.items()) + list(names.items()):
        with open(os.path.join(ai, n), "wb") as f: f.truncate(size)
    for dp, dns, fns in os.walk(root):
        for n in fns + dns: os.utime(os.path.join(dp, n), (MTIME, MTIME))
    os.utime(root, (MTIME, MTIME))

class Back(http.server.BaseHTTPRequestHandler):
    """/TYPE answers a body of that type; ?h=Name:Value adds a field, ?chunked=1 chunks."""
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        u = urlsplit(self.path); q = parse_qs(u.query); kind = u.path.strip("/")
        body, ct, extra = {
            "html": (HTML, "text/html", []), "text": (TEXT, "text/plain", []),
            "json": (b'{"a": "' + b"x" * 100 + b'"}', "application/json", []),
            "gz": (gzip.compress(TEXT, mtime=0), "text/plain", [("Content-Encoding", "gzip")]),
            "gzhtml": (gzip.compress(HTML, mtime=0), "text/html", [("Content-Encoding", "gzip")]),
            "koi": ("<p>Привет</p>\n".encode("koi8-r"), "text/html; charset=koi8-r", []),
            "u8": ("<p>Привет</p>\n".encode(), "text/html; charset=utf-8", []),
            "png": (b"\x89PNG" + b"p" * 100, "image/png", []),
            "empty": (b"", "text/plain", []),
            "plainu8": (TEXT, "text/plain; charset=utf-8", []),
            "upper": (TEXT, "TEXT/PLAIN", []),
            "nospace": (HTML, "text/html;charset=UTF-8", []),
            "quoted": (TEXT, 'text/plain; charset="utf-8"', []),
            "short": (b"short", "text/plain", []),
            "lm": (HTML, "text/html", [("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT"), ("ETag", '"abc"')]),
        }.get(kind, (b"nf\n", "text/plain", []))
        status = int(q.get("s", ["200"])[0])
        self.send_response(status); self.send_header("Content-Type", ct)
        for k, v in extra: self.send_header(k, v)
        for h in q.get("h", []):
            k, v = h.split(":", 1); self.send_header(k, v)
        if status in (204, 304): body = b""
        if self.command == "HEAD": body_out = b""
        else: body_out = body
        if q.get("close"):  # no framing: the body ends at the close
            self.send_header("Connection", "close"); self.end_headers(); self.wfile.write(body_out)
            self.close_connection = True
        elif q.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            if body_out:
                half = len(body_out) // 2
                for part in (body_out[:half], body_out[half:]):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            if status not in (204, 304): self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body_out)
    do_HEAD = do_GET
    def log_message(self, *a): pass

class TServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

# Each group: the server block's inner directives (ROOT, BACK replaced) and requests
# (METHOD URI [Header: value | ...]); "HTTP/1.0" as a header word sends that version.
GROUPS = {}

GROUPS["static"] = ("""
root ROOT;
location / { }
location /idx/ { index nope.html index.html; }
location /idx2/ { index nope.html /idx/index.html; }
location /ai/ { alias ROOT/dir/; autoindex on; }
location /aij/ { alias ROOT/dir/; autoindex on; autoindex_format json; }
location /aijp/ { alias ROOT/dir/; autoindex on; autoindex_format jsonp; }
location /aix/ { alias ROOT/dir/; autoindex on; autoindex_format xml; }
location /aie/ { alias ROOT/dir/; autoindex on; autoindex_exact_size off; }
location /ail/ { alias ROOT/dir/; autoindex on; autoindex_localtime off; }
location /ai2/ { autoindex on; }
location /aic/ { alias ROOT/dir/; autoindex on; charset utf-8; }
location /aicj/ { alias ROOT/dir/; autoindex on; autoindex_format json; charset utf-8; }
location /aicx/ { alias ROOT/dir/; autoindex on; autoindex_format xml; charset utf-8; }
location /ai2e/ { alias ROOT/ai2/; autoindex on; autoindex_exact_size off; }
location /ai2j/ { alias ROOT/ai2/; autoindex on; autoindex_format json; }
location /ai2x/ { alias ROOT/ai2/; autoindex on; autoindex_format xml; }
location /ai2t/ { alias ROOT/ai2/; autoindex on; autoindex_localtime on; }
location /noetag/ { alias ROOT/; etag off; }
location /imsoff/ { alias ROOT/; if_modified_since off; }
location /imsbefore/ { alias ROOT/; if_modified_since before; }
location /exp1/ { alias ROOT/; expires 1h; }
location /exp2/ { alias ROOT/; expires epoch; }
location /exp3/ { alias ROOT/; expires max; }
location /exp4/ { alias ROOT/; expires -1; }
location /exp5/ { alias ROOT/; expires modified 1d; }
location /exp6/ { alias ROOT/; expires off; }
location /exp7/ { alias ROOT/; expires 0; }
location /exp8/ { alias ROOT/; expires -30m; }
location /dt/ { alias ROOT/; default_type text/x-foo; }
location /types/ { alias ROOT/; types { text/x-a txt; application/x-b bin; } default_type application/x-def; }
location /types0/ { alias ROOT/; types { } default_type text/plain; }
location /mr0/ { alias ROOT/; max_ranges 0; }
location /mr1/ { alias ROOT/; max_ranges 1; }
location /ah/ { alias ROOT/; add_header X-A a; add_header X-B b always; add_header Cache-Control no-store; }
location /ahe/ { alias ROOT/; expires 1h; add_header Cache-Control private; add_header ETag '"x"'; add_header Last-Modified yesterday; }
location /ahv/ { alias ROOT/; add_header etag '"y"'; add_header Last-Modified "Wed, 01 Jan 2020 00:00:00 GMT"; add_header X-After z; }
location /ahd/ { alias ROOT/; add_header ETag ""; add_header Last-Modified ""; add_header X-After z; }
location /ahd2/ { alias ROOT/; add_header ETag '"1"'; add_header ETag '"2"'; add_header Last-Modified a; add_header Last-Modified b; }
location /ahea/ { alias ROOT/; add_header ETag '"x"' always; add_header Last-Modified yesterday always; add_header X-N n; }
location /pahe/ { proxy_pass http://BACK/; add_header ETag '"x"'; add_header last-modified yesterday; add_header X-After z; }
location /pahd/ { proxy_pass http://BACK/; add_header ETag ""; add_header Last-Modified ""; add_header X-After z; }
location /p/ { proxy_pass http://BACK/; }
location /pah/ { proxy_pass http://BACK/; add_header X-A a; add_header X-B b always; }
""", """
GET /
GET /index.html
HEAD /index.html
GET /a.txt
HEAD /a.txt
GET /small.txt
GET /empty.txt
GET /data.json
GET /x.bin
GET /noext
GET /x.foo
GET /missing.txt
HEAD /missing.txt
GET /dir
GET /dir?x=1
GET /dir/
GET /idx/
GET /idx2/
GET /idx
GET /ai/
GET /ai/?x
HEAD /ai/
GET /ai/sub/
GET /ai
GET /aij/
GET /aijp/?callback=cb
GET /aijp/
GET /aix/
GET /aie/
GET /ail/
GET /ai2/
GET /ai2e/
GET /ai2j/
GET /ai2x/
GET /ai2t/
GET /ai2/Sub%20dir/
GET /ai2/Sub%20dir
GET /ai2/a&b
GET /ai2/a%26b/
HEAD /ai2j/
GET /ai2/ | Accept-Encoding: gzip
GET /ai2/ | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /ai2/ | Range: bytes=0-9
GET /ai2/s5g | Range: bytes=4294967296-4294967300
GET /ai2/s5g | Range: bytes=-5
HEAD /ai2/s5g
GET /ai2/s5g | Range: bytes=0-1,5368709118-
GET /ai2/s5g | Range: bytes=5368709120-
GET /ai2/s0 | Range: bytes=0-
GET /a.txt | Range: bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20
HEAD /a.txt | Range: bytes=0-3,5-6
GET /a.txt | Range: bytes=1-2,0-0
GET /a.txt | Range: bytes=0-1999
GET /a.txt | Range: bytes=0-2000
GET /a.txt | Range: bytes=1999-
GET /a.txt | Range: bytes=2000-
GET /a.txt | Range: bytes=-2000
GET /a.txt | Range: bytes=-2001
GET /a.txt | Range: BYTES=0-3
GET /a.txt | Range: bytes=00-03
GET /a.txt | Range: bytes=+0-3
GET /a.txt | Range: bytes=0--3
GET /a.txt | Range: bytes=18446744073709551616-
GET /a.txt | If-None-Match: "x" ,"65937d25-7d0"
GET /a.txt | If-None-Match:  *
GET /a.txt | If-None-Match: W/ "65937d25-7d0"
GET /a.txt | If-None-Match: "65937d25-7d0",
GET /a.txt | If-None-Match: "65937d25-7D0"
GET /noetag/a.txt | If-None-Match: *
GET /missing.txt | If-Match: *
GET /missing.txt | If-None-Match: *
GET /a.txt | If-Match: "65937d25-7d0" | Range: bytes=0-3
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT | Range: bytes=0-3
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT | If-None-Match: "x"
GET /a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:05 GMT | If-Match: "x"
GET /a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:04 GMT | If-Match: "65937d25-7d0"
GET /exp5/a.txt | If-None-Match: "65937d25-7d0"
GET /aic/
GET /aicj/
GET /aicx/
GET /a.txt | Range: bytes=0-9
GET /a.txt | Range: bytes=10-
GET /a.txt | Range: bytes=-7
GET /a.txt | Range: bytes=0-0
GET /a.txt | Range: bytes=5-3
GET /a.txt | Range: bytes=99999-
GET /a.txt | Range: bytes=-0
GET /a.txt | Range: bytes=0-99999
GET /a.txt | Range: bytes=0-4,10-14
GET /a.txt | Range: bytes=0-4,3-8
GET /a.txt | Range: bytes=0-4,-3
GET /a.txt | Range: bytes=0-4,99999-
GET /a.txt | Range: bytes=99998-,99999-
GET /a.txt | Range: bytes = 0-4
GET /a.txt | Range: bytes=0-4 , 6-8
GET /a.txt | Range: items=0-4
GET /a.txt | Range: bytes=x-4
GET /a.txt | Range: bytes=
GET /a.txt | Range: bytes=0-4,
GET /empty.txt | Range: bytes=0-4
GET /empty.txt | Range: bytes=-4
HEAD /a.txt | Range: bytes=0-9
GET /index.html | Range: bytes=0-9
POST /a.txt | Range: bytes=0-9
GET /a.txt | Range: bytes=0-9 | If-Range: "65937d25-7d0"
GET /a.txt | Range: bytes=0-9 | If-Range: "other"
GET /a.txt | Range: bytes=0-9 | If-Range: W/"65937d25-7d0"
GET /a.txt | Range: bytes=0-9 | If-Range: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | Range: bytes=0-9 | If-Range: Tue, 02 Jan 2024 03:04:06 GMT
GET /a.txt | Range: bytes=0-9 | If-Range: garbage
GET /noetag/a.txt | Range: bytes=0-9 | If-Range: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
HEAD /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:04 GMT
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:06 GMT
GET /a.txt | If-Modified-Since: Wed, 01 Jan 2031 00:00:00 GMT
GET /a.txt | If-Modified-Since: garbage
GET /a.txt | If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT
GET /a.txt | If-Modified-Since: Tue Jan  2 03:04:05 2024
GET /a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT; length=2040
GET /imsoff/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /imsbefore/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /imsbefore/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:06 GMT
GET /imsbefore/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:04 GMT
GET /a.txt | If-None-Match: "65937d25-7d0"
GET /a.txt | If-None-Match: W/"65937d25-7d0"
GET /a.txt | If-None-Match: "x", "65937d25-7d0"
GET /a.txt | If-None-Match: "x","y"
GET /a.txt | If-None-Match: *
GET /a.txt | If-None-Match: "x"
GET /a.txt | If-None-Match: 65937d25-7d0
HEAD /a.txt | If-None-Match: "65937d25-7d0"
GET /a.txt | If-None-Match: "x" | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | If-None-Match: "65937d25-7d0" | If-Modified-Since: Tue, 02 Jan 2024 03:04:04 GMT
GET /a.txt | If-Match: "65937d25-7d0"
GET /a.txt | If-Match: "x"
GET /a.txt | If-Match: *
GET /a.txt | If-Match: W/"65937d25-7d0"
GET /a.txt | If-Match: "x", "65937d25-7d0"
GET /a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:04 GMT
GET /a.txt | If-Unmodified-Since: Wed, 01 Jan 2031 00:00:00 GMT
GET /a.txt | If-Unmodified-Since: garbage
GET /a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:04 GMT | Range: bytes=0-3
GET /a.txt | If-Match: "x" | If-None-Match: "x"
GET /a.txt | If-None-Match: "65937d25-7d0" | Range: bytes=0-3
GET /noetag/a.txt
GET /noetag/a.txt | If-None-Match: "65937d25-7d0"
GET /noetag/a.txt | If-Match: "65937d25-7d0"
GET /noetag/a.txt | If-Match: *
GET /noetag/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /imsoff/a.txt | If-None-Match: "65937d25-7d0"
GET /imsoff/a.txt | If-Unmodified-Since: Tue, 02 Jan 2024 03:04:04 GMT
GET /exp1/a.txt
GET /exp1/missing
GET /exp1/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /exp2/a.txt
GET /exp3/a.txt
GET /exp4/a.txt
GET /exp5/a.txt
GET /exp6/a.txt
GET /exp7/a.txt
GET /exp8/a.txt
GET /exp1/a.txt | Range: bytes=0-3
GET /dt/noext
GET /dt/x.foo
GET /dt/a.txt
GET /types/a.txt
GET /types/x.bin
GET /types/index.html
GET /types0/index.html
GET /mr0/a.txt | Range: bytes=0-3
GET /mr1/a.txt | Range: bytes=0-3
GET /mr1/a.txt | Range: bytes=0-3,5-6
GET /a.txt | Range: bytes=0-3,5-6,8-9
GET /ah/a.txt
GET /ah/missing
GET /ah/a.txt | If-None-Match: "65937d25-7d0"
GET /ah/a.txt | Range: bytes=0-3
GET /ah/a.txt | Range: bytes=99999-
GET /ah/a.txt | If-Match: "x"
GET /ah/dir
GET /ahe/a.txt
GET /ahe/a.txt | If-None-Match: "65937d25-7d0"
GET /ahe/a.txt | If-None-Match: "65937d25-7d0"
GET /ahe/a.txt | Range: bytes=0-3
GET /ahe/a.txt | Range: bytes=0-3 | If-Range: "x"
GET /ahe/a.txt | Range: bytes=0-3 | If-Range: "65937d25-7d0"
GET /ahe/a.txt | Range: bytes=99999-
GET /ahv/a.txt
GET /ahv/a.txt | Range: bytes=0-3 | If-Range: Wed, 01 Jan 2020 00:00:00 GMT
GET /ahv/a.txt | Range: bytes=0-3 | If-Range: Tue, 02 Jan 2024 03:04:05 GMT
GET /ahv/a.txt | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /ahd/a.txt
GET /ahd/a.txt | If-None-Match: "65937d25-7d0"
GET /ahd/a.txt | Range: bytes=0-3 | If-Range: "65937d25-7d0"
GET /ahd/missing
GET /ahd2/a.txt
GET /ahea/a.txt | Range: bytes=99999-
GET /ahea/missing
GET /ahea/a.txt | If-Match: "x"
GET /pahe/lm
GET /pahe/html
GET /pahe/lm?h=ETag:%22second%22
GET /pahd/lm
GET /pahd/lm?h=ETag:%22second%22
GET /pah/html
GET /pah/html?s=404
GET /pah/html?s=500
GET /pah/lm | If-None-Match: "abc"
GET /p/lm | If-None-Match: "abc"
GET /p/lm | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /p/lm | If-Match: "x"
GET /p/lm | Range: bytes=0-9
GET /p/lm | Range: bytes=0-9 | If-Range: "abc"
GET /p/html | Range: bytes=0-9
GET /p/lm?chunked=1 | Range: bytes=0-9
GET /a.txt | HTTP/1.0
HEAD /a.txt | HTTP/1.0
GET /a.txt | HTTP/1.0 | Range: bytes=0-3,5-6
OPTIONS /a.txt
DELETE /a.txt
POST /a.txt
POST /ai/
GET /%61.txt
GET /a.txt/
GET /dir/../a.txt
""")

GROUPS["gzip"] = ("""
root ROOT;
gzip on; gzip_types text/plain application/json; gzip_min_length 20;
location / { }
location /vary/ { alias ROOT/; gzip_vary on; }
location /hv10/ { alias ROOT/; gzip_http_version 1.0; }
location /dis/ { alias ROOT/; gzip_disable "MSIE [1-6]\\." "curl"; gzip_vary on; }
location /dism/ { alias ROOT/; gzip_disable msie6; }
location /min/ { alias ROOT/; gzip_min_length 5000; }
location /all/ { alias ROOT/; gzip_types *; }
location /off/ { alias ROOT/; gzip off; }
location /rng/ { alias ROOT/; gzip_vary on; }
location /p/ { proxy_pass http://BACK/; }
location /pany/ { proxy_pass http://BACK/; gzip_proxied any; gzip_vary on; }
location /pexp/ { proxy_pass http://BACK/; gzip_proxied expired; }
location /pnc/ { proxy_pass http://BACK/; gzip_proxied no-cache no-store private; }
location /pnlm/ { proxy_pass http://BACK/; gzip_proxied no_last_modified no_etag; }
location /pauth/ { proxy_pass http://BACK/; gzip_proxied auth; }
location /gunz/ { proxy_pass http://BACK/; gunzip on; gzip off; }
location /gunzg/ { proxy_pass http://BACK/; gunzip on; gzip_proxied any; }
location /gunzs/ { proxy_pass http://BACK/; gunzip on; gzip off; sub_filter hello HI; sub_filter_types text/plain; }
location /exp/ { alias ROOT/; expires 1h; gzip_vary on; }
location /static/ { alias ROOT/; gzip_static on; }
location /staticv/ { alias ROOT/; gzip_static on; gzip_vary on; }
location /staticalways/ { alias ROOT/; gzip_static always; }
location /subgz/ { alias ROOT/; sub_filter Hello Bye; sub_filter line LINE; sub_filter_types text/plain; }
location /addgz/ { alias ROOT/; add_before_body /add/before.html; }
location /add/ { alias ROOT/add/; }
""", """
GET /a.txt
GET /a.txt | Accept-Encoding: gzip
HEAD /a.txt | Accept-Encoding: gzip
GET /a.txt | Accept-Encoding: gzip, deflate, br
GET /a.txt | Accept-Encoding: GZIP
GET /a.txt | Accept-Encoding: gzip;q=0
GET /a.txt | Accept-Encoding: gzip; q=0
GET /a.txt | Accept-Encoding: gzip;q=0.0
GET /a.txt | Accept-Encoding: gzip;q=0.000
GET /a.txt | Accept-Encoding: gzip;q=0.5
GET /a.txt | Accept-Encoding: gzip;q=1
GET /a.txt | Accept-Encoding: gzip;q=1.0
GET /a.txt | Accept-Encoding: gzip;q=0.001
GET /a.txt | Accept-Encoding: gzip;q=x
GET /a.txt | Accept-Encoding: *
GET /a.txt | Accept-Encoding: x-gzip
GET /a.txt | Accept-Encoding: deflate
GET /a.txt | Accept-Encoding: gzipx
GET /a.txt | Accept-Encoding: identity
GET /a.txt | Accept-Encoding: deflate,gzip
GET /a.txt | Accept-Encoding: gzip | HTTP/1.0
GET /hv10/a.txt | Accept-Encoding: gzip | HTTP/1.0
GET /small.txt | Accept-Encoding: gzip
GET /empty.txt | Accept-Encoding: gzip
GET /data.json | Accept-Encoding: gzip
GET /index.html | Accept-Encoding: gzip
GET /x.bin | Accept-Encoding: gzip
GET /all/x.bin | Accept-Encoding: gzip
GET /all/index.html | Accept-Encoding: gzip
GET /min/a.txt | Accept-Encoding: gzip
GET /off/a.txt | Accept-Encoding: gzip
GET /vary/a.txt | Accept-Encoding: gzip
GET /vary/a.txt
GET /vary/index.html | Accept-Encoding: gzip
GET /vary/small.txt | Accept-Encoding: gzip
GET /dis/a.txt | Accept-Encoding: gzip | User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)
GET /dis/a.txt | Accept-Encoding: gzip | User-Agent: curl/8.0
GET /dis/a.txt | Accept-Encoding: gzip | User-Agent: Mozilla/5.0
GET /dism/a.txt | Accept-Encoding: gzip | User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)
GET /dism/a.txt | Accept-Encoding: gzip | User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)
GET /a.txt | Accept-Encoding: gzip | Range: bytes=0-9
GET /rng/a.txt | Accept-Encoding: gzip | Range: bytes=0-9,20-29
GET /a.txt | Accept-Encoding: gzip | If-None-Match: "65937d25-7d0"
GET /a.txt | Accept-Encoding: gzip | If-None-Match: W/"65937d25-7d0"
GET /exp/a.txt | Accept-Encoding: gzip
GET /missing | Accept-Encoding: gzip
GET /p/text | Accept-Encoding: gzip
GET /p/text | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text | Accept-Encoding: gzip
GET /pany/text?s=404 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/empty | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/json?chunked=1 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/gz | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text?h=Content-Encoding:identity | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text?h=Vary:Cookie | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text?h=Vary:Accept-Encoding | Accept-Encoding: gzip | Via: 1.1 x
GET /pexp/text | Accept-Encoding: gzip | Via: 1.1 x
GET /pexp/text?h=Expires:Thu,%2001%20Jan%201970%2000:00:01%20GMT | Accept-Encoding: gzip | Via: 1.1 x
GET /pexp/text?h=Expires:garbage | Accept-Encoding: gzip | Via: 1.1 x
GET /pnc/text?h=Cache-Control:no-cache | Accept-Encoding: gzip | Via: 1.1 x
GET /pnc/text?h=Cache-Control:public,%20no-store | Accept-Encoding: gzip | Via: 1.1 x
GET /pnc/text?h=Cache-Control:private | Accept-Encoding: gzip | Via: 1.1 x
GET /pnc/text?h=Cache-Control:max-age=5 | Accept-Encoding: gzip | Via: 1.1 x
GET /pnc/text?h=Cache-Control:No-Cache | Accept-Encoding: gzip | Via: 1.1 x
GET /pnlm/text | Accept-Encoding: gzip | Via: 1.1 x
GET /pnlm/lm | Accept-Encoding: gzip | Via: 1.1 x
GET /pnlm/text?h=ETag:%22e%22 | Accept-Encoding: gzip | Via: 1.1 x
GET /pauth/text | Accept-Encoding: gzip | Via: 1.1 x | Authorization: Basic eDp5
GET /pauth/text | Accept-Encoding: gzip | Via: 1.1 x
GET /gunz/gz
GET /gunz/gz | Accept-Encoding: gzip
GET /gunz/gz?chunked=1
HEAD /gunz/gz
GET /gunz/gzhtml
GET /gunzg/gz
GET /gunzg/gz | Accept-Encoding: gzip
GET /gunzs/gz
GET /gunzs/gz | Accept-Encoding: gzip
GET /gunz/gz | Range: bytes=0-9
GET /gunz/text
GET /gunz/gz | Accept-Encoding: gzip;q=0
GET /gunz/gz | Accept-Encoding: identity
GET /gunz/gz?s=404
GET /gunz/gz | If-None-Match: "x"
GET /gunz/gz?h=ETag:%22e%22
GET /gunz/gz?h=ETag:%22e%22 | Accept-Encoding: gzip
GET /gunz/gz | HTTP/1.0
GET /gunz/gz?close=1
GET /a.txt | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /a.txt | HTTP/1.0 | Connection: keep-alive | Accept-Encoding: gzip | KA-ONLY
GET /hv10/a.txt | HTTP/1.0 | Connection: keep-alive | Accept-Encoding: gzip | KA-ONLY
GET /p/text | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /gunz/gz | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /subgz/index.html | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /missing | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /pany/text?close=1 | Accept-Encoding: gzip | Via: 1.1 x
GET /p/text?close=1 | Accept-Encoding: gzip
GET /pany/text?s=403 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/text?s=206&h=Content-Range:bytes%200-1999/3000 | Accept-Encoding: gzip | Via: 1.1 x
GET /a.txt | Accept-Encoding: gzip | HTTP/1.0 | Range: bytes=0-3
GET /hv10/a.txt | Accept-Encoding: gzip | HTTP/1.0 | Range: bytes=0-3
HEAD /hv10/a.txt | Accept-Encoding: gzip | HTTP/1.0
GET /missing | Accept-Encoding: gzip | HTTP/1.0
GET /hv10/missing | Accept-Encoding: gzip | HTTP/1.0
GET /a.txt | Accept-Encoding: gzip | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt | Accept-Encoding: gzip | If-Match: "x"
GET /static/a.txt | Accept-Encoding: gzip
GET /static/a.txt
GET /static/a.txt | Accept-Encoding: gzip | Range: bytes=0-3
HEAD /static/a.txt | Accept-Encoding: gzip
GET /static/a.txt | Accept-Encoding: gzip | If-None-Match: "65937d25-7d0"
GET /static/index.html | Accept-Encoding: gzip
GET /staticv/a.txt | Accept-Encoding: gzip
GET /staticv/a.txt
GET /staticalways/a.txt
GET /pany/html?chunked=1 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/png | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/html?s=304 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/html?s=204 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/html?s=500 | Accept-Encoding: gzip | Via: 1.1 x
HEAD /pany/text | Accept-Encoding: gzip | Via: 1.1 x
GET /subgz/index.html | Accept-Encoding: gzip
GET /pany/plainu8 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/upper | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/quoted | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/short | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/short?chunked=1 | Accept-Encoding: gzip | Via: 1.1 x
GET /pany/short?close=1 | Accept-Encoding: gzip | Via: 1.1 x
GET /p/plainu8 | Accept-Encoding: gzip
GET /subgz/a.txt | Accept-Encoding: gzip
GET /addgz/index.html | Accept-Encoding: gzip
""")

GROUPS["sub"] = ("""
root ROOT;
location / { sub_filter Hello Bye; gzip on; }
location /multi/ { alias ROOT/; sub_filter hello "[$uri]"; sub_filter World Earth; sub_filter_once off; }
location /once/ { alias ROOT/; sub_filter hello X; sub_filter world Y; }
location /types/ { alias ROOT/; sub_filter line LINE; sub_filter_types text/plain; }
location /typesall/ { alias ROOT/; sub_filter line LINE; sub_filter o 0; sub_filter_types *; sub_filter_once off; }
location /lm/ { alias ROOT/; sub_filter Hello Bye; sub_filter_last_modified on; }
location /var/ { alias ROOT/; sub_filter $arg_f $arg_t; sub_filter_once off; }
location /empty/ { alias ROOT/; sub_filter Hello ""; sub_filter_once off; }
location /overlap/ { alias ROOT/; sub_filter "ll" "LL"; sub_filter "llo" "LLO"; sub_filter_once off; }
location /p/ { proxy_pass http://BACK/; sub_filter Hello Bye; sub_filter_once off; sub_filter_types text/plain; }
location /ci/ { alias ROOT/; sub_filter "HELLO WORLD" "<$uri>"; sub_filter "привет" "hi"; sub_filter_once off; }
location /long/ { alias ROOT/; sub_filter "of the text file, some words" "X"; sub_filter "line 01" "L"; sub_filter "e" "E"; sub_filter_once off; sub_filter_types *; }
""", """
GET /index.html
HEAD /index.html
GET /index.html | Range: bytes=0-9
GET /index.html | If-None-Match: "65937d25-5c"
GET /index.html | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /a.txt
GET /multi/index.html
GET /multi/index.html?x=1
GET /once/index.html
GET /types/a.txt
GET /types/index.html
GET /typesall/a.txt
GET /typesall/x.bin
GET /lm/index.html
GET /lm/index.html | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /var/index.html?f=World&t=Planet
GET /var/index.html?f=WORLD&t=Planet
GET /var/index.html
GET /var/index.html?f=&t=x
GET /empty/index.html
GET /overlap/index.html
GET /p/html
GET /p/lm
GET /p/text
GET /p/gzhtml
GET /p/html?chunked=1
GET /p/png
GET /p/html | Range: bytes=0-9
GET /p/plainu8
GET /p/upper
GET /p/nospace
GET /p/quoted
GET /empty.txt
GET /big.html
GET /multi/big.html
GET /big.html | Accept-Encoding: gzip
GET /p/text?chunked=1
GET /p/html?close=1
GET /p/text?close=1
GET /p/html?s=404
GET /p/html?s=304
HEAD /p/html
GET /ci/index.html
GET /ci/u8.html
GET /long/a.txt
GET /long/index.html
""")

GROUPS["addition"] = ("""
root ROOT;
location /add/ { }
location / { add_before_body /add/before.html; add_after_body /add/after.html; }
location /only/ { alias ROOT/; add_after_body /add/after.html; }
location /types/ { alias ROOT/; add_before_body /add/before.html; addition_types text/plain; }
location /typesall/ { alias ROOT/; add_before_body /add/before.html; addition_types *; }
location /missing/ { alias ROOT/; add_before_body /add/nope.html; }
location /p/ { proxy_pass http://BACK/; add_before_body /add/before.html; add_after_body /pb/text; }
location /pb/ { proxy_pass http://BACK/; }
location /sub/ { alias ROOT/; add_before_body /add/before.html; sub_filter before BEFORE; sub_filter Hello Bye; }
""", """
GET /index.html
HEAD /index.html
GET /index.html | Range: bytes=0-9
GET /index.html | If-None-Match: "65937d25-5c"
GET /a.txt
GET /empty.txt
GET /missing.html
GET /only/index.html
GET /types/a.txt
GET /types/index.html
GET /typesall/x.bin
GET /missing/index.html
GET /p/html
GET /p/html?chunked=1
GET /p/png
GET /p/html?s=404
GET /sub/index.html
GET /p/html?close=1
""")

GROUPS["charset"] = ("""
root ROOT;
location / { charset utf-8; }
location /types/ { alias ROOT/; charset utf-8; charset_types text/plain application/json; }
location /src/ { alias ROOT/; charset utf-8; source_charset utf-8; }
location /off/ { alias ROOT/; charset off; }
location /ov/ { proxy_pass http://BACK/; charset utf-8; override_charset on; source_charset utf-8; }
location /p/ { proxy_pass http://BACK/; charset windows-1251; }
location /pov/ { proxy_pass http://BACK/; charset utf-8; override_charset on; }
location /var/ { alias ROOT/; charset $arg_c; }
location /dt/ { alias ROOT/; charset utf-8; default_type text/html; }
""", """
GET /index.html
HEAD /index.html
GET /a.txt
GET /data.json
GET /u8.html
GET /missing
GET /dir
GET /types/a.txt
GET /types/data.json
GET /types/index.html
GET /src/index.html
GET /off/index.html
GET /ov/u8
GET /ov/html
GET /p/html
GET /p/u8
GET /p/text
GET /pov/u8
GET /p/plainu8
GET /p/upper
GET /p/nospace
GET /p/quoted
GET /pov/nospace
GET /pov/quoted
GET /pov/koi
GET /ov/nospace
GET /ov/quoted
GET /ov/koi
GET /var/index.html?c=iso-8859-1
GET /var/index.html
GET /var/index.html?c=off
GET /dt/noext
GET /index.html | Range: bytes=0-9
GET /index.html | HTTP/1.0
GET /index.html | If-None-Match: "65937d25-5c"
GET /types/data.json | If-None-Match: "65937d25-39"
""")

GROUPS["types"] = ("""
root ROOT;
location / { }
location /dt/ { alias ROOT/; default_type text/x-dflt; }
location /ty/ { alias ROOT/; types { text/x-svg svg; application/x-js js JS; } }
location /tyi/ { alias ROOT/; types { text/x-over svg; } default_type text/x-d2; }
""", """
GET /t/x.svg
GET /t/x.js
GET /t/x.css
GET /t/x.woff2
GET /t/x.mp4
GET /t/x.wasm
GET /t/x.md
GET /t/x.jpg
GET /t/x.JPG
GET /t/x.gif
GET /t/x.htm
GET /t/x.tar.gz
GET /t/x
GET /t/.hidden
GET /t/x.
GET /index.html
GET /a.txt
GET /dt/t/x.md
GET /dt/t/x
GET /ty/t/x.svg
GET /ty/t/x.js
GET /ty/t/x.css
GET /ty/index.html
GET /tyi/t/x.svg
GET /tyi/t/x.css
""")

GROUPS["misc"] = ("""
root ROOT;
location / { }
location /ssiv/ { alias ROOT/ssi/; ssi on; ssi_value_length 4; }
location /ssi/ { ssi on; }
location /p/ { proxy_pass http://BACK/; }
location /err/ { internal; alias ROOT/err/; }
location /e1/ { alias ROOT/; error_page 404 /err/404.html; sub_filter Hello Bye; }
location /e2/ { alias ROOT/; error_page 404 /err/404.html; ssi on; }
location /e3/ { alias ROOT/; error_page 416 = /err/404.html; }
location /e4/ { alias ROOT/; error_page 404 =200 /err/404.html; add_header X-E e; }
location /once/ { alias ROOT/; sub_filter hello 1; sub_filter world 2; sub_filter HELLO 3; }
location /min/ { alias ROOT/min/; gzip on; gzip_min_length 20; gzip_types text/plain; }
location /cst/ { alias ROOT/; charset utf-8; charset_types *; }
location /gzsub/ { proxy_pass http://BACK/; gzip on; gzip_proxied any; gunzip on; sub_filter hello HI; sub_filter_types text/plain; sub_filter_once off; }
location /aiix/ { alias ROOT/; index nope.html; autoindex on; }
location /addsub/ { alias ROOT/; add_after_body /ssi/inc2.html; ssi on; }
""", """
GET /ssiv/a.shtml
GET /ssiv/h.shtml
GET /ssi/h.shtml
GET /ssi/i.shtml
GET /e1/missing
GET /e1/index.html
GET /e2/missing
GET /e3/a.txt | Range: bytes=99999-
GET /e4/missing
HEAD /e4/missing
GET /once/index.html
GET /min/19.txt | Accept-Encoding: gzip
GET /min/20.txt | Accept-Encoding: gzip
GET /min/21.txt | Accept-Encoding: gzip
GET /cst/x.bin
GET /cst/index.html
GET /cst/missing
GET /gzsub/gz | Accept-Encoding: gzip
GET /gzsub/gz
GET /gzsub/text | Accept-Encoding: gzip | Via: 1.1 x
GET /aiix/
GET /aiix/dir/
GET /addsub/index.html
GET /addsub/index.html | Range: bytes=0-3
GET /err/404.html
""")

GROUPS["ssi"] = ("""
root ROOT;
location / { }
location /ssi/ { ssi on; ssi_types text/plain; gzip on; }
location /ssilm/ { alias ROOT/ssi/; ssi on; ssi_last_modified on; }
location /ssisil/ { alias ROOT/ssi/; ssi on; ssi_silent_errors on; }
location /p/ { proxy_pass http://BACK/; }
location /pssi/ { proxy_pass http://BACK/; ssi on; }
""", """
GET /ssi/a.shtml
HEAD /ssi/a.shtml
GET /ssi/b.shtml
GET /ssi/c.shtml
GET /ssi/c.shtml?q=a%20b
GET /ssi/d.shtml
GET /ssi/e.shtml
GET /ssi/plain.txt
GET /ssi/big.shtml
GET /ssi/big.shtml | Accept-Encoding: gzip
GET /ssi/a.shtml | Range: bytes=0-3
GET /ssi/a.shtml | If-None-Match: "65937d25-131"
GET /ssi/a.shtml | If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT
GET /ssilm/a.shtml
GET /ssisil/b.shtml
GET /pssi/html
GET /ssi/inc.html
GET /ssi/f.shtml?a=1&b=2
GET /ssi/f.shtml?a=2
GET /ssi/f.shtml?a=x%20y
GET /ssi/f.shtml
GET /ssi/g.shtml
GET /ssi/a.shtml | HTTP/1.0
GET /ssi/a.shtml | HTTP/1.0 | Connection: keep-alive | KA-ONLY
GET /ssi/inc.html | HTTP/1.0 | Connection: keep-alive | KA-ONLY
HEAD /ssi/a.shtml | HTTP/1.0 | Connection: keep-alive | KA-ONLY
HEAD /ssi/a.shtml | HTTP/1.0
GET /ssi/a.shtml | Accept-Encoding: gzip
GET /pssi/html?chunked=1
GET /pssi/gzhtml
GET /pssi/html?close=1
GET /ssi/
GET /ssi/missing.shtml
""")

def parse_requests(text):
    out = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line: continue
        parts = [p.strip() for p in line.split("|")]
        m, u = parts[0].split(None, 1)
        ver, hs = "HTTP/1.1", []
        if "KA-ONLY" in parts and not KA: continue  # needs KA=1
        for p in parts[1:]:
            if p == "KA-ONLY": continue
            if p.startswith("HTTP/"): ver = p
            else:
                k, v = p.split(":", 1); hs.append((k.strip(), v.strip()))
        out.append((line, m, u, ver, hs))
    return out

def ask(port, m, u, ver, hs):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    req = f"{m} {u} {ver}\r\nHost: sweep.test\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs)
    if m in ("POST", "PUT"): req += "Content-Length: 3\r\n"
    if KA:  # keep-alive, then a second request on the connection
        req += "\r\n" + ("abc" if m in ("POST", "PUT") else "")
        req += "GET /small.txt HTTP/1.1\r\nHost: sweep.test\r\nConnection: close\r\n\r\n"
    else:
        req += "Connection: close\r\n\r\n" + ("abc" if m in ("POST", "PUT") else "")
    s.sendall(req.encode())
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
    except socket.timeout:
        data += b"<<timeout>>"
    s.close()
    return data

def split_response(data, method):
    """The first response of data and what follows it (KA mode)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep: return data, b""
    status = head[9:12]
    d = {}
    for l in head.split(b"\r\n")[1:]:
        k, _, v = l.partition(b":"); d[k.strip().lower()] = v.strip()
    if method == "HEAD" or status in (b"204", b"304"): n = 0
    elif d.get(b"transfer-encoding") == b"chunked":
        n = 0
        while True:
            i = rest.find(b"\r\n", n)
            if i < 0: return data, b""
            size = int(rest[n:i].split(b";")[0] or b"0", 16)
            n = i + 2 + size + 2
            if size == 0: break
    elif b"content-length" in d: n = int(d[b"content-length"])
    else: n = len(rest)
    return head + sep + rest[:n], rest[n:]

def dechunk(b):
    out = b""
    while True:
        i = b.find(b"\r\n")
        if i < 0: return out + b"<<bad chunking>>"
        n = int(b[:i].split(b";")[0], 16)
        if n == 0: return out
        out += b[i + 2:i + 2 + n]; b = b[i + 4 + n:]

def normalize(raw, ports, method):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    out = [lines[0]]
    fields = [tuple(l.split(":", 1)) for l in lines[1:]]
    fields = [(k, v.strip()) for k, v in fields]
    d = dict((k.lower(), v) for k, v in fields)
    if d.get("transfer-encoding") == "chunked": body = dechunk(body)
    gz = d.get("content-encoding") == "gzip"
    if gz and body:
        try: body = b"<<gzip decoded>>" + zlib.decompress(body, 31)
        except Exception as e: body = b"<<gzip error %s>>" % str(e).encode()
    # nginx's and fulcrum's own error pages name the server (its Server value)
    page = (b"<hr><center>" + d.get("server", "").encode() + b"</center>") in body or (
        method == "HEAD" and lines[0][9:12] >= "300" and d.get("content-type") == "text/html")
    bnd = re.search(r"boundary=(\S+)", d.get("content-type", ""))
    date = None
    try: date = parsedate_to_datetime(d["date"])
    except Exception: pass
    for k, v in fields:
        lk = k.lower()
        if lk in ("date", "server"): v = lk.upper()
        elif lk == "content-length" and gz: v = "GZLEN"
        elif lk == "content-length" and page:
            v = "%d-SERVER" % (int(v) - len(d.get("server", "")))
        elif lk == "expires" and date is not None:
            try:
                e = parsedate_to_datetime(v); delta = int((e - date).total_seconds())
                if abs(delta) < 86400 * 3: v = f"DATE{delta:+d}"
            except Exception: pass
        elif lk == "cache-control" and "/exp5/" in ports.get("uri", ""):
            v = re.sub(r"max-age=\d+", "max-age=N", v)
        if bnd: v = v.replace(bnd.group(1), "BOUNDARY")
        out.append(f"{k}: {v}")
    if bnd: body = body.replace(bnd.group(1).encode(), b"BOUNDARY")
    text = body.decode("utf-8", "backslashreplace")
    text = re.sub(r"<center>(nginx|fulcrum)(/[0-9.]+)?</center>", "<center>SERVER</center>", text)
    for p in ports["ports"]: text = text.replace(str(p), "PORT")
    for p in ports["ports"]: out = [l.replace(str(p), "PORT") for l in out]
    return out + [""] + text.split("\n")

def answer(port, m, u, ver, hs, ctx):
    raw = ask(port, m, u, ver, hs)
    if not KA: return normalize(raw, ctx, m)
    first, rest = split_response(raw, m)
    return normalize(first, ctx, m) + ["<<next response>>"] + (normalize(rest, ctx, "GET") if rest else ["<<none>>"])

def start(kind, d, conf, port):
    os.makedirs(d + "/logs", exist_ok=True)
    path = f"{d}/nginx.conf"
    with open(path, "w") as f: f.write(conf)
    if kind == "nginx":
        cmd = ["nginx", "-p", d + "/", "-c", path, "-e", d + "/error.log", "-g", "daemon off; master_process off;"]
    else:
        cmd = [BIN, "-p", d + "/", "-c", path, "-e", d + "/error.log"]
    p = subprocess.Popen(cmd, stdout=open(d + "/out", "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try: socket.create_connection(("127.0.0.1", port), timeout=1).close(); return p
        except OSError:
            if p.poll() is not None: break
            time.sleep(0.05)
    p.kill(); sys.exit(f"{kind} did not start: " + open(d + "/out").read() + open(d + "/error.log").read()[-2000:])

# Differences found by this sweep and kept, each documented in docs/directives.md
# ("Where fulcrum differs from nginx"): "GROUP REQUEST-LINE" -> why.
EXPECTED = {
    "misc GET /e3/a.txt | Range: bytes=99999-":
        "error_page 416 = to a static file: nginx ranges the target again (two Content-Range fields, its ETag)",
    "static GET /ah/a.txt | Range: bytes=99999-":
        "nginx sends an add_header ... always field twice on a static 416, fulcrum once",
}

def main():
    global BIN, WORK
    if len(sys.argv) < 2: sys.exit(__doc__)
    BIN = os.path.abspath(sys.argv[1]); only = sys.argv[2:]
    WORK = tempfile.mkdtemp(prefix="sfsweep-")
    root = WORK + "/root"; make_root(root)
    back = TServer(("127.0.0.1", 0), Back); bport = back.server_address[1]
    threading.Thread(target=back.serve_forever, daemon=True).start()
    same = differ = expected = 0
    procs = []
    try:
        for g, (inner, reqs) in GROUPS.items():
            if only and g not in only: continue
            pn, pf = freeport(), freeport()
            def conf(port, d):
                i = inner.replace("ROOT", root).replace("BACK", f"127.0.0.1:{bport}")
                return (f"pid {d}/x.pid; worker_processes 1; events {{}}\n"
                        f"http {{ access_log off;\n" + ("" if g == "types" else "include /etc/nginx/mime.types; default_type application/octet-stream;\n") +
                        f"client_body_temp_path {d}/cb; proxy_temp_path {d}/pt; fastcgi_temp_path {d}/ft;\n"
                        f"uwsgi_temp_path {d}/ut; scgi_temp_path {d}/st;\n"
                        f"server {{ listen 127.0.0.1:{port}; server_name sweep.test;\n{i}\n}} }}\n")
            dn, df = f"{WORK}/{g}-nginx", f"{WORK}/{g}-fulcrum"
            os.makedirs(dn); os.makedirs(df)
            procs = [start("nginx", dn, conf(pn, dn), pn), start("fulcrum", df, conf(pf, df), pf)]
            for line, m, u, ver, hs in parse_requests(reqs):
                ctx = {"ports": [pn, pf, bport], "uri": u}
                a, b = (answer(p, m, u, ver, hs, {**ctx, "ports": ps}) for p, ps in ((pn, [pn, pf, bport]), (pf, [pf, pn, bport])))
                key = f"{g} {line}"
                if os.environ.get("SHOW") and os.environ["SHOW"] in key:
                    print("SHOW", key); print("\n".join("    " + l for l in a)[:3000])
                if a == b:
                    same += 1
                    if os.environ.get("V"): print("SAME", key)
                    continue
                if KA and a[0].startswith("HTTP/1.1 412") and a[-1] == "<<none>>" and a[:-1] == b[:len(a) - 1]:
                    expected += 1; print("KNOWN", key, "-- nginx closes the connection after a 412 that says keep-alive"); continue
                if key in EXPECTED:
                    expected += 1; print("KNOWN", key, "--", EXPECTED[key]); continue
                differ += 1
                print("DIFF", key)
                import difflib
                for l in difflib.unified_diff(a, b, "nginx", "fulcrum", lineterm="", n=99 if os.environ.get("FULL") else 1):
                    print("   ", l[:300])
            for p in procs: p.terminate(); p.wait(5)
            procs = []
    finally:
        for p in procs: p.kill()
        back.shutdown()
        if not os.environ.get("KEEP"): shutil.rmtree(WORK, ignore_errors=True)
    print(f"{same} same, {expected} known differences, {differ} unexpected")
    sys.exit(1 if differ else 0)

if __name__ == "__main__":
    main()
