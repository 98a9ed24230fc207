#!/usr/bin/env python3
"""Compare the legacy GeoIP variables of nginx 1.22.1 (with Debian's
libnginx-mod-http-geoip: libGeoIP 1.6.12) and fulcrum on the same databases:
each server runs an http block with the given geoip_* directives, trusts
127.0.0.1 (geoip_proxy) and returns the module's 16 variables "|"-separated;
each address is sent as X-Forwarded-For. Prints SAME or DIFF per address.

  python3 scripts/geoip-nginx-compare.py FULCRUM_BIN 'geoip_country /usr/share/GeoIP/GeoIP.dat;' [N]

Addresses: N random IPv4 and N/2 random IPv6 ones (default N=300, seed 7), and
a few fixed ones (X-Forwarded-For lists, unparsable values, mapped IPv4).
This is how the testdata of internal/geoipdat and the answers of
integration/geoip_test.go were recorded (with `return` lines only, as here).
"""
import os, random, socket, subprocess, sys, tempfile, time, urllib.request

BIN, DIRECTIVES = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 300
VARS = ("geoip_country_code geoip_country_code3 geoip_country_name geoip_area_code "
        "geoip_city_continent_code geoip_city_country_code geoip_city_country_code3 "
        "geoip_city_country_name geoip_dma_code geoip_latitude geoip_longitude geoip_region "
        "geoip_region_name geoip_city geoip_postal_code geoip_org").split()


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def serve(binary, addrs):
    d = tempfile.mkdtemp(prefix="geoip-compare.")
    port = freeport()
    temps = " ".join(f"{t}_temp_path {d}/{t};" for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    body = "|".join("$" + v for v in VARS)
    conf = f"""load_module /usr/lib/nginx/modules/ngx_http_geoip_module.so;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{}}
http {{
    access_log off; {temps}
    {DIRECTIVES}
    geoip_proxy 127.0.0.1;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "{body}\\n"; }} }}
}}
"""
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(conf)
    p = subprocess.Popen([binary, "-p", d, "-c", f"{d}/nginx.conf", "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                if p.poll() is not None:
                    sys.exit(f"{binary} did not start: {p.stderr.read().decode()}")
                time.sleep(0.05)
        out = []
        for a in addrs:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": a} if a else {})
            out.append(urllib.request.urlopen(req).read().rstrip(b"\n"))
        return out
    finally:
        p.terminate()
        p.wait()


r = random.Random(7)
addrs = ["%d.%d.%d.%d" % (r.randrange(1, 224), r.randrange(256), r.randrange(256), r.randrange(256)) for _ in range(N)]
addrs += ["2%03x:%x:%x::%x" % (r.randrange(0x1000), r.randrange(0x10000), r.randrange(0x10000), r.randrange(0x10000)) for _ in range(N // 2)]
addrs += ["", "8.8.8.8, 1.1.1.1", "81.2.69.160 ,127.0.0.1", "garbage", "255.255.255.255", "0.0.0.0",
          "::ffff:81.2.69.160", "::1", "81.2.69.160 127.0.0.1 127.0.0.1"]
want, got = serve("nginx", addrs), serve(BIN, addrs)
diff = 0
for a, w, g in zip(addrs, want, got):
    if w != g:
        diff += 1
    if w != g or os.environ.get("V"):
        print("SAME" if w == g else "DIFF", repr(a), "nginx:", w, "fulcrum:", g)
print(f"{len(addrs) - diff} same, {diff} differ")
sys.exit(1 if diff else 0)
