#!/usr/bin/env python3
"""Differential sweep of `fulcrum -t` against `nginx -t`: write a few hundred
generated configurations to a temporary directory, run

  nginx -t -p DIR/ -c DIR/nginx.conf      and      fulcrum -t -p DIR/ -c DIR/nginx.conf

on each, and compare, in this order: the decision (exit status: accepted or
refused), the file and line of the error, its wording (nginx's "[emerg] MSG in
FILE:LINE"; fulcrum's hint after ", " is left out), and the warnings (informational).

  python3 scripts/config-nginx-sweep.py FULCRUM_BIN [FILTER...]   (V=1: print every case)

FILTER keeps the cases whose name contains one of the words. Cases come from two
sources: hand-written ones (syntax, include, semantic checks nginx -t makes) and
ones generated from internal/config/table*.go for each directive nginx-light 1.22.1
knows: too many and too few arguments, the wrong context, an invalid value, a valid
value and a duplicate. A directive nginx does not know (a module nginx-light lacks,
NGINX Plus, newer nginx) is skipped. stream needs nginx's dynamic module: every
configuration loads it on line 1 (fulcrum ignores load_module).

Differences fulcrum makes on purpose are listed in EXPECTED with the reason (each
is in docs/directives.md); any other difference in decision, line or wording makes
the exit status 1.
"""
import os, re, shutil, socket, subprocess, sys, tempfile

STREAM_SO = "/usr/lib/nginx/modules/ngx_stream_module.so"
HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = [os.path.join(HERE, "..", "internal", "config", f) for f in ("table.go", "table_nginx.go", "table_newer.go")]


def freeport():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


PORT, PORT2 = freeport(), freeport()

# Line 1 of every configuration: the dynamic stream module, a pid and an error log
# inside the directory (%D%), so that line numbers below are the same everywhere.
LINE1 = f"load_module {STREAM_SO}; pid %D%/nginx.pid; error_log %D%/error.log;\n"
TEMPS = ("client_body_temp_path %D%/cb; proxy_temp_path %D%/pt; fastcgi_temp_path %D%/ft; "
         "uwsgi_temp_path %D%/ut; scgi_temp_path %D%/st; access_log off;\n")


def main_conf(body, events="events {}\n"):
    return LINE1 + events + body + "\n"


def http(body):
    return main_conf("http {\n" + TEMPS + body + "\n}")


def server(body):
    return http(f"server {{\nlisten 127.0.0.1:{PORT};\n" + body + "\n}")


def loc(body, where="/"):
    return server(f"location {where} {{\n" + body + "\n}")


def ups(body):
    return http("upstream u {\nserver 127.0.0.1:1;\n" + body +
                f"\n}}\nserver {{ listen 127.0.0.1:{PORT}; location / {{ proxy_pass http://u; }} }}")


def stream(body):
    return main_conf("stream {\n" + body + "\n}")


def ssrv(body):
    return stream(f"server {{\nlisten 127.0.0.1:{PORT2};\n" + body + "\n}")


def sups(body):
    return stream("upstream su {\nserver 127.0.0.1:1;\n" + body +
                  f"\n}}\nserver {{ listen 127.0.0.1:{PORT2}; proxy_pass su; }}")


def events(body):
    return main_conf("", events="events {\n" + body + "\n}\n")


CASES = []  # (name, {relative path: text}); "nginx.conf" is the one tested


def case(name, text, **extra):
    files = {"nginx.conf": text}
    files.update({k.replace("__", "/").replace("_dot_", "."): v for k, v in extra.items()})
    CASES.append((name, files))


def hand_written():
    # Syntax.
    case("syn-empty-file", "")
    case("syn-only-comments", "# nothing\n# at all\n")
    case("syn-no-events", LINE1 + "http {}\n")
    case("syn-missing-semicolon-eof", main_conf("worker_processes 1"))
    case("syn-missing-semicolon-before-brace", http("sendfile on\n"))
    case("syn-missing-semicolon-next-line", http("sendfile on\nsendfile_max_chunk 1m;"))
    case("syn-unbalanced-open", LINE1 + "events {}\nhttp {\nserver {\n}\n")
    case("syn-stray-close", main_conf("}\n"))
    case("syn-stray-close-http", http("}\n"))
    case("syn-unterminated-double", loc('return 200 "abc;\n'))
    case("syn-unterminated-single", loc("return 200 'abc;\n"))
    case("syn-brace-after-simple", http("sendfile on {}\n"))
    case("syn-block-without-brace", main_conf("http;\n"))
    case("syn-lone-semicolon", http(";\n"))
    case("syn-text-after-quote", loc('return 200 "a"b;'))
    case("syn-comment-in-string", loc('return 200 "a # not a comment";'))
    case("syn-comment-after", loc('return 200 "a"; # comment ; { }'))
    case("syn-escapes", loc('return 200 "a\\"b\\\\c\\n\\t";'))
    case("syn-single-escape", loc("return 200 'it\\'s';"))
    case("syn-long-line", loc('return 200 "' + "x" * 20000 + '";'))
    case("syn-long-token", loc("set $a " + "y" * 5000 + ";"))
    case("syn-word-4095", loc("return 200\n" + "x" * 4095 + ";"))
    case("syn-word-4096", loc("return 200\n" + "x" * 4096 + ";"))
    case("syn-quoted-4094", loc('return 200 "' + "x" * 4094 + '";'))
    case("syn-quoted-4095", loc('return 200 "' + "x" * 4095 + '";'))
    case("syn-multiline-directive", http("sendfile\non\noff;"))
    case("syn-multiline-location", server("location /a\n{\n}\nlocation /a\n{\n}"))
    case("syn-multiline-log-format", http("log_format f '$uri'\n'$nosuch';"))
    case("syn-many-args", loc("add_header X-A " + " ".join(["a"] * 9) + ";"))
    case("syn-brace-in-arg", loc("return 200 a{b;"))
    case("syn-quoted-brace", loc('return 200 "{";'))
    case("syn-quoted-name", http('"sendfile" on;'))
    case("syn-var-brace", loc('return 200 "${host}x";'))
    case("syn-var-brace-unclosed", loc('return 200 "${host";'))
    case("syn-var-empty-name", loc('return 200 "$";'))
    case("syn-var-unknown", loc('return 200 "$nosuchvar";'))
    case("syn-tab-separated", http("sendfile\ton;"))
    case("syn-crlf", LINE1.replace("\n", "\r\n") + "events {}\r\nhttp {\r\nsendfile on;\r\n}\r\n")
    case("syn-no-newline-eof", LINE1 + "events {}")
    case("syn-semicolon-in-quotes", loc('return 200 ";";'))
    case("syn-quote-mid-token", loc('return 200 a"b";'))
    case("syn-empty-block-directive", main_conf("http {}\nhttp {}"))
    case("syn-unknown-directive", http("frobnicate on;"))
    case("syn-unknown-typo", loc("proxy_pas http://127.0.0.1:1;"))
    case("syn-unknown-block", http("frob {}"))
    # include.
    case("inc-missing", http("include %D%/nope.conf;"))
    case("inc-missing-relative", http("include nope.conf;"))
    case("inc-glob-empty", http("include %D%/none/*.conf;"))
    case("inc-glob", http("include %D%/sub/*.conf;"), sub__a_dot_conf="sendfile on;\n", sub__b_dot_conf="tcp_nopush on;\n")
    case("inc-error-in-included", http("include %D%/sub/a.conf;"), sub__a_dot_conf="sendfile on;\nsendfile yes;\n")
    case("inc-recursive", http("include %D%/r.conf;"), r_dot_conf="include %D%/r.conf;\n")
    case("inc-relative-prefix", http("include sub/a.conf;"), sub__a_dot_conf="sendfile on;\n")
    case("inc-no-args", http("include;"))
    case("inc-two-args", http("include a b;"))
    case("inc-unbalanced", http("include %D%/sub/a.conf;"), sub__a_dot_conf="server {\n")
    case("inc-stray-close", http("include %D%/sub/a.conf;"), sub__a_dot_conf="}\n")
    case("inc-location", server("include %D%/sub/a.conf;"), sub__a_dot_conf="location /a { return 200; }\n")
    case("inc-mime", http("include %D%/mime.types;"), mime_dot_types="types { text/html html; }\n")
    # Semantic checks nginx -t makes.
    case("sem-dup-location", server("location /a { }\nlocation /a { }"))
    case("sem-dup-location-exact", server("location = /a { }\nlocation = /a { }"))
    case("sem-dup-location-regex", server("location ~ /a { }\nlocation ~ /a { }"))
    case("sem-dup-location-named", server("location @a { }\nlocation @a { }"))
    case("sem-location-prefix-exact", server("location /a { }\nlocation = /a { }"))
    case("sem-location-caret", server("location /a { }\nlocation ^~ /a { }"))
    case("sem-nested-outside", server("location /a { location /b { } }"))
    case("sem-nested-inside", server("location /a { location /a/b { } }"))
    case("sem-nested-named", server("location /a { location @b { } }"))
    case("sem-named-nested-in-named", server("location @a { location /b { } }"))
    case("sem-exact-nested", server("location = /a { location /a { } }"))
    case("sem-location-bad-modifier", server("location ~~ /a { }"))
    case("sem-location-bad-regex", server("location ~ ( { }"))
    case("sem-dup-listen", http(f"server {{ listen 127.0.0.1:{PORT}; }}\nserver {{ listen 127.0.0.1:{PORT}; }}"))
    case("sem-dup-listen-same-server", http(f"server {{ listen 127.0.0.1:{PORT};\nlisten 127.0.0.1:{PORT}; }}"))
    case("sem-dup-default-server", http(f"server {{ listen 127.0.0.1:{PORT} default_server; }}\nserver {{ listen 127.0.0.1:{PORT} default_server; }}"))
    case("sem-dup-listen-options", http(f"server {{ listen 127.0.0.1:{PORT} backlog=10; }}\nserver {{ listen 127.0.0.1:{PORT} backlog=20; }}"))
    case("sem-dup-listen-options-wildcard", http("server { listen 18081 reuseport; }\nserver { listen 18081 backlog=5; }"))
    case("sem-dup-listen-options-and-default", http(f"server {{ listen 127.0.0.1:{PORT} default_server bind; }}\nserver {{ listen 127.0.0.1:{PORT} default_server rcvbuf=8k; }}"))
    case("sem-listen-options-one-server", http(f"server {{ listen 127.0.0.1:{PORT} backlog=10; }}\nserver {{ listen 127.0.0.1:{PORT}; server_name b; }}"))
    case("sem-dup-named-location-first", server("location @a { return 200; }\nlocation @a { return 201; }"))
    case("sem-proxy-pass-uri-if-regex", loc("if ($arg_a) { proxy_pass http://127.0.0.1:1; }", where="~ /a"))
    case("sem-open-file-cache-bad", http("open_file_cache max=0;"))
    case("sem-open-file-cache-off-inactive", http("open_file_cache off inactive=1s;"))
    case("sem-open-log-file-cache-no-max", http("open_log_file_cache inactive=5s;"))
    case("sem-stream-zone-unsized", sups("zone z;"))
    case("sem-stream-proxy-bind-bad", stream("proxy_bind 127.0.0.1 x;"))
    case("sem-use-poll", events("use poll;"))
    case("sem-access-log-off-then-unknown", http("access_log %D%/a.log nosuch;"))
    case("sem-dup-listen-option-twice", http(f"server {{ listen 127.0.0.1:{PORT} backlog=10 backlog=20; }}"))
    case("sem-listen-bad-param", http(f"server {{ listen 127.0.0.1:{PORT} nosuch; }}"))
    case("sem-listen-bad-port", http("server { listen 127.0.0.1:99999; }"))
    case("sem-listen-port-zero", http("server { listen 127.0.0.1:0; }"))
    case("sem-listen-bad-host", http(f"server {{ listen 999.0.0.1:{PORT}; }}"))
    case("sem-listen-backlog-bad", http(f"server {{ listen 127.0.0.1:{PORT} backlog=x; }}"))
    case("sem-server-name-conflict", http(f"server {{ listen 127.0.0.1:{PORT}; server_name a.example; }}\nserver {{ listen 127.0.0.1:{PORT}; server_name a.example; }}"))
    case("sem-server-name-conflict-case", http(f"server {{ listen 127.0.0.1:{PORT}; server_name A.example; }}\nserver {{ listen 127.0.0.1:{PORT}; server_name a.example; }}"))
    case("sem-server-name-wild-conflict", http(f"server {{ listen 127.0.0.1:{PORT}; server_name *.example; }}\nserver {{ listen 127.0.0.1:{PORT}; server_name .example; }}"))
    case("sem-server-name-regex-bad", server("server_name ~(;"))
    case("sem-server-name-empty", server('server_name "";'))
    case("sem-server-name-bad-wild", server("server_name a*b.example;"))
    case("sem-server-name-slash", server("server_name a/b;"))
    case("sem-unknown-upstream", loc("proxy_pass http://u;"))
    case("sem-upstream-defined-later", http(f"server {{ listen 127.0.0.1:{PORT}; location / {{ proxy_pass http://u; }} }}\nupstream u {{ server 127.0.0.1:1; }}"))
    case("sem-unknown-upstream-var", loc("proxy_pass http://u$request_uri;"))
    case("sem-unknown-upstream-var-host", loc("proxy_pass http://$host;"))
    case("sem-proxy-pass-ip", loc("proxy_pass http://127.0.0.1:1;"))
    case("sem-proxy-pass-bad-scheme", loc("proxy_pass ftp://127.0.0.1:1;"))
    case("sem-proxy-pass-no-scheme", loc("proxy_pass 127.0.0.1:1;"))
    case("sem-proxy-pass-bad-port", loc("proxy_pass http://127.0.0.1:99999;"))
    case("sem-proxy-pass-empty-host", loc("proxy_pass http://;"))
    case("sem-proxy-pass-uri-regex", loc("proxy_pass http://127.0.0.1:1/x;", where="~ /a"))
    case("sem-proxy-pass-uri-named", server("location @n { proxy_pass http://127.0.0.1:1/x; }"))
    case("sem-proxy-pass-uri-if", loc("if ($arg_a) { proxy_pass http://127.0.0.1:1/x; }"))
    case("sem-proxy-pass-uri-limit-except", loc("limit_except GET { proxy_pass http://127.0.0.1:1/x; }"))
    case("sem-proxy-pass-var-uri-regex", loc("proxy_pass http://127.0.0.1:1$request_uri;", where="~ /a"))
    case("sem-proxy-pass-upstream-uri", ups("") .replace("proxy_pass http://u;", "proxy_pass http://u/x;"))
    case("sem-upstream-dup", http("upstream u { server 127.0.0.1:1; }\nupstream u { server 127.0.0.1:2; }"))
    case("sem-upstream-empty", http("upstream u { }\n" + f"server {{ listen 127.0.0.1:{PORT}; location / {{ proxy_pass http://u; }} }}"))
    case("sem-upstream-unused", http("upstream u { server 127.0.0.1:1; }"))
    case("sem-upstream-server-port0", ups("server 127.0.0.1:0;"))
    case("sem-upstream-server-bad-weight", ups("server 127.0.0.1:2 weight=0;"))
    case("sem-upstream-server-bad-param", ups("server 127.0.0.1:2 nosuch=1;"))
    case("sem-upstream-server-max-fails-neg", ups("server 127.0.0.1:2 max_fails=-1;"))
    case("sem-upstream-server-fail-timeout-bad", ups("server 127.0.0.1:2 fail_timeout=5q;"))
    case("sem-upstream-backup-hash", ups("hash $uri;\nserver 127.0.0.1:2 backup;"))
    case("sem-upstream-ip-hash-backup", ups("ip_hash;\nserver 127.0.0.1:2 backup;"))
    case("sem-upstream-keepalive-zero", ups("keepalive 0;"))
    case("sem-upstream-no-server", http("upstream u { keepalive 2; }\n" + f"server {{ listen 127.0.0.1:{PORT}; location / {{ proxy_pass http://u; }} }}"))
    case("sem-upstream-name-with-port", loc("proxy_pass http://u:8080;").replace("http {\n", "http {\nupstream u { server 127.0.0.1:1; }\n"))
    case("sem-zone-undeclared-limit-req", loc("limit_req zone=z;"))
    case("sem-zone-undeclared-limit-conn", loc("limit_conn z 1;"))
    case("sem-zone-declared-limit-req", http("limit_req_zone $binary_remote_addr zone=z:1m rate=1r/s;\n" + f"server {{ listen 127.0.0.1:{PORT}; location / {{ limit_req zone=z; }} }}"))
    case("sem-zone-dup", http("limit_req_zone $binary_remote_addr zone=z:1m rate=1r/s;\nlimit_req_zone $binary_remote_addr zone=z:1m rate=1r/s;"))
    case("sem-zone-dup-other-key", http("limit_req_zone $binary_remote_addr zone=z:1m rate=1r/s;\nlimit_req_zone $uri zone=z:1m rate=1r/s;"))
    case("sem-zone-limit-req-bad-rate", http("limit_req_zone $binary_remote_addr zone=z:1m rate=1x/s;"))
    case("sem-zone-small", http("limit_req_zone $binary_remote_addr zone=z:1k rate=1r/s;"))
    case("sem-zone-no-size", http("limit_req_zone $binary_remote_addr zone=z rate=1r/s;"))
    case("sem-zone-conn-undeclared-used-size", http("limit_conn_zone $binary_remote_addr zone=c:1m;\n" + f"server {{ listen 127.0.0.1:{PORT}; limit_conn c 0; }}"))
    case("sem-upstream-zone-undeclared-size", ups("zone uz;"))
    case("sem-if-ok", loc('if ($request_method = POST) { return 405; }'))
    case("sem-if-regex", loc('if ($uri ~* "^/a(.*)") { return 200 $1; }'))
    case("sem-if-regex-bad", loc('if ($uri ~ "(") { return 200; }'))
    case("sem-if-no-paren", loc("if $uri { return 200; }"))
    case("sem-if-unclosed-paren", loc("if ($uri { return 200; }"))
    case("sem-if-bad-operator", loc("if ($uri == a) { return 200; }"))
    case("sem-if-file", loc("if (-f $request_filename) { return 200; }"))
    case("sem-if-not-file", loc("if (!-e $request_filename) { return 200; }"))
    case("sem-if-bad-file-op", loc("if (-q $request_filename) { return 200; }"))
    case("sem-if-not-var", loc("if (abc) { return 200; }"))
    case("sem-if-empty", loc("if () { return 200; }"))
    case("sem-if-too-many", loc("if ($a = b c) { return 200; }"))
    case("sem-if-in-http", http("if ($uri) { }"))
    case("sem-if-server", server("if ($host = a) { return 404; }"))
    case("sem-if-no-block", loc("if ($uri);"))
    case("sem-set-no-dollar", loc("set a 1;"))
    case("sem-set-builtin", loc("set $uri 1;"))
    case("sem-set-ok", loc("set $x 1; return 200 $x;"))
    case("sem-return-bad-code", loc("return 999;"))
    case("sem-return-text-code", loc("return abc;"))
    case("sem-return-url", loc("return http://a.example/;"))
    case("sem-return-301-no-url", loc("return 301;"))
    case("sem-rewrite-bad-flag", loc("rewrite ^ /x nosuch;"))
    case("sem-rewrite-bad-regex", loc("rewrite ( /x;"))
    case("sem-rewrite-ok", loc("rewrite ^/(.*)$ /b/$1 last;"))
    case("sem-error-page-bad-code", loc("error_page 299 /x;"))
    case("sem-error-page-ok", loc("error_page 404 =200 /x;"))
    case("sem-error-page-bad-eq", loc("error_page 404 =abc /x;"))
    case("sem-error-page-one-arg", loc("error_page /x;"))
    case("sem-try-files-one", loc("try_files $uri;"))
    case("sem-try-files-ok", loc("try_files $uri =404;"))
    case("sem-try-files-bad-code", loc("try_files $uri =abc;"))
    case("sem-map-ok", http("map $uri $m { default 0; /a 1; }"))
    case("sem-map-no-dollar", http("map uri $m { default 0; }"))
    case("sem-map-dup-key", http("map $uri $m { /a 0; /a 1; }"))
    case("sem-map-three", http("map $uri $m { /a 0 1; }"))
    case("sem-map-regex-bad", http("map $uri $m { ~( 0; }"))
    case("sem-map-dup-var", http("map $uri $m { default 0; }\nmap $host $m { default 1; }"))
    case("sem-var-in-root", loc("root %D%/$host;"))
    case("sem-var-in-listen", server("listen $x;"))
    case("sem-var-in-client-max-body", loc("client_max_body_size $x;"))
    case("sem-var-in-timeout", loc("proxy_read_timeout $x;"))
    case("sem-var-in-server-name", server("server_name $host;"))
    case("sem-var-in-upstream-server", ups("server $host;"))
    case("sem-var-in-error-log", http("error_log %D%/$host.log;"))
    case("sem-var-in-access-log", http("access_log %D%/$host.log;"))
    case("sem-var-in-add-header", loc("add_header X-H $host;"))
    case("sem-var-in-resolver", http("resolver $x;"))
    case("sem-var-in-log-format", http("log_format f '$nosuch';"))
    case("sem-log-format-dup", http("log_format f '$uri';\nlog_format f '$uri';"))
    case("sem-log-format-combined", http("log_format combined '$uri';"))
    case("sem-access-log-unknown-format", http("access_log %D%/a.log nosuch;"))
    case("sem-allow-bad", loc("allow 1.2.3.4/99;"))
    case("sem-allow-host", loc("allow example.com;"))
    case("sem-deny-ok", loc("deny 10.0.0.0/8; allow all;"))
    case("sem-allow-nonzero-bits", loc("allow 10.0.0.1/8;"))
    case("sem-add-header-always-typo", loc("add_header X 1 alway;"))
    case("sem-limit-except-bad", loc("limit_except FOO { deny all; }"))
    case("sem-limit-except-ok", loc("limit_except GET POST { deny all; }"))
    case("sem-types-dup", http("types { text/a a; text/b a; }"))
    case("sem-index-empty", loc('index "";'))
    case("sem-index-abs-not-last", loc("index /a b;"))
    case("sem-root-and-alias", loc("root /a; alias /b;"))
    case("sem-alias-regex-no-capture", loc("alias /b;", where="~ /a"))
    case("sem-alias-regex-capture", loc("alias /b/$1;", where="~ ^/a(.*)"))
    case("sem-gzip-level", http("gzip_comp_level 10;"))
    case("sem-gzip-level-zero", http("gzip_comp_level 0;"))
    case("sem-keepalive-timeout-two", http("keepalive_timeout 10 5;"))
    case("sem-keepalive-timeout-bad-second", http("keepalive_timeout 10 5q;"))
    case("sem-client-body-buffer-zero", http("client_body_buffer_size 0;"))
    case("sem-proxy-buffers-bad", http("proxy_buffers 0 4k;"))
    case("sem-proxy-busy-too-big", http("proxy_buffers 2 4k; proxy_busy_buffers_size 16k;"))
    case("sem-proxy-set-header-var", loc("proxy_set_header X $nosuch;"))
    case("sem-proxy-next-upstream-bad", loc("proxy_next_upstream nosuch;"))
    case("sem-proxy-http-version-bad", loc("proxy_http_version 2.0;"))
    case("sem-proxy-redirect-bad", loc("proxy_redirect a;"))
    case("sem-worker-processes-auto", main_conf("worker_processes auto;"))
    case("sem-worker-processes-bad", main_conf("worker_processes many;"))
    case("sem-worker-connections-zero", events("worker_connections 0;"))
    case("sem-worker-connections-one", events("worker_connections 1;"))
    case("sem-use-bad", events("use nosuch;"))
    case("sem-use-epoll", events("use epoll;"))
    case("sem-events-dup", LINE1 + "events {}\nevents {}\n")
    case("sem-http-dup", LINE1 + "events {}\nhttp {}\nhttp {}\n")
    case("sem-stream-dup", LINE1 + "events {}\nstream {}\nstream {}\n")
    case("sem-user-unknown", main_conf("user nosuchuser_xyz;"))
    case("sem-env-ok", main_conf("env A=b;"))
    case("sem-pid-dup", main_conf("pid %D%/b.pid;"))
    case("sem-error-log-bad-level", main_conf("error_log %D%/e.log nosuch;"))
    case("sem-error-log-two-levels", main_conf("error_log %D%/e.log warn error;"))
    case("sem-timer-resolution-bad", main_conf("timer_resolution 5q;"))
    case("sem-ssl-cert-missing", server("ssl_certificate %D%/nope.crt; ssl_certificate_key %D%/nope.key;"))
    case("sem-ssl-ticket-key-unread", server("ssl_session_ticket_key %D%/nope.key;"))
    case("sem-ssl-ticket-key-missing", server("ssl_reject_handshake on; ssl_session_ticket_key %D%/nope.key;"))
    case("sem-ssl-no-cert", http(f"server {{ listen 127.0.0.1:{PORT} ssl; }}"))
    case("sem-ssl-protocol-bad", http("ssl_protocols TLSv9;"))
    case("sem-stream-proxy-pass-unknown", ssrv("proxy_pass su;"))
    case("sem-stream-proxy-pass-ok", ssrv("proxy_pass 127.0.0.1:1;"))
    case("sem-stream-no-proxy-pass", ssrv(""))
    case("sem-stream-two-handlers", ssrv("proxy_pass 127.0.0.1:1; return x;"))
    case("sem-stream-dup-listen", stream(f"server {{ listen 127.0.0.1:{PORT2}; proxy_pass 127.0.0.1:1; }}\nserver {{ listen 127.0.0.1:{PORT2}; proxy_pass 127.0.0.1:1; }}"))
    case("sem-stream-listen-no-port", ssrv("listen 127.0.0.1; proxy_pass 127.0.0.1:1;"))
    case("sem-stream-upstream-ok", sups(""))
    case("sem-stream-upstream-bad-param", sups("server 127.0.0.1:2 slow_start=1s;"))
    case("sem-stream-upstream-no-port", sups("server 127.0.0.1;"))
    case("sem-stream-map", stream("map $remote_addr $m { default 0; }"))
    case("sem-stream-http-directive", ssrv("proxy_pass 127.0.0.1:1; proxy_read_timeout 1s;"))
    case("sem-stream-limit-conn-undeclared", ssrv("proxy_pass 127.0.0.1:1; limit_conn z 1;"))
    case("sem-stream-var-unknown", ssrv("return $nosuch;"))
    case("sem-chunked-ok", loc("chunked_transfer_encoding off;"))
    case("sem-default-type", http("default_type;"))
    case("sem-location-no-uri", server("location { }"))
    case("sem-location-not-block", server("location /a;"))
    case("sem-location-in-http", http("location / { }"))
    case("sem-location-in-if", loc("if ($uri) { location /b { } }"))
    case("sem-server-in-server", server("server { }"))
    case("sem-server-in-location", loc("server { }"))
    case("sem-upstream-in-server", server("upstream x { server 127.0.0.1:1; }"))
    case("sem-return-in-upstream", ups("return 200;"))
    case("sem-split-clients", http('split_clients "${remote_addr}" $v { 50% a; * b; }'))
    case("sem-split-clients-over", http('split_clients "${remote_addr}" $v { 60% a; 50% b; }'))
    case("sem-geo-ok", http("geo $g { default 0; 10.0.0.0/8 1; }"))
    case("sem-geo-bad", http("geo $g { default 0; 10.0.0.0/99 1; }"))
    case("sem-geo-dup", http("geo $g { 10.0.0.0/8 1; 10.0.0.0/8 2; }"))
    case("sem-realip-header-bad", loc("real_ip_header;"))
    case("sem-auth-basic-file-missing", loc('auth_basic "x"; auth_basic_user_file %D%/nope;'))
    case("sem-internal-args", loc("internal on;"))
    case("sem-resolver-bad-valid", http("resolver 127.0.0.1 valid=5q;"))
    case("sem-resolver-ok", http("resolver 127.0.0.1 valid=5s ipv6=off;"))
    case("sem-proxy-cache-undeclared", loc("proxy_cache z;"))
    case("sem-proxy-cache-path", http("proxy_cache_path %D%/c keys_zone=z:1m;\n" + f"server {{ listen 127.0.0.1:{PORT}; location / {{ proxy_cache z; proxy_pass http://127.0.0.1:1; }} }}"))
    case("sem-proxy-cache-path-no-zone", http("proxy_cache_path %D%/c;"))
    case("sem-proxy-cache-path-dup", http("proxy_cache_path %D%/c keys_zone=z:1m;\nproxy_cache_path %D%/c keys_zone=y:1m;"))
    case("sem-stub-status-arg", loc("stub_status on;"))
    case("sem-stub-status-noarg", loc("stub_status;"))
    case("sem-if-set-var-later", loc("if ($x) { return 200; }\nset $x 1;"))


# Directives from the table: which contexts to try, in order, and where to put a
# directive in each. Mail directives are left out (nginx needs the mail module).
PLACES = [("ctxMain", main_conf), ("ctxEvents", events), ("ctxHTTP", http), ("ctxServer", server),
          ("ctxLocation", loc), ("ctxUpstream", ups), ("ctxStream", stream), ("ctxStreamSrv", ssrv),
          ("ctxStreamUps", sups)]
CTX_ALIASES = {"ctxLoc": ["ctxLocation"], "ctxSL": ["ctxServer", "ctxLocation"], "ctxHS": ["ctxHTTP", "ctxServer"],
               "ctxHSL": ["ctxHTTP", "ctxServer", "ctxLocation"], "ctxStreamSS": ["ctxStream", "ctxStreamSrv"],
               "ctxStreamAll": ["ctxStream", "ctxStreamSrv", "ctxStreamUps"], "ctxAll": [p for p, _ in PLACES]}
VALID = {"kindSize": "8k", "kindOffset": "1m", "kindMsec": "5s", "kindSec": "5s", "kindNumber": "4"}
INVALID = {"kindSize": "1x", "kindOffset": "1x", "kindMsec": "5q", "kindSec": "5q", "kindNumber": "-1"}
ARITY_MAX = {"argsNone": 0, "args1": 1, "args2": 2, "args3": 3, "args4": 4, "args5": 5, "args6": 6, "args7": 7, "argsFlag": 1,
             "args12": 2, "args23": 3, "args123": 3, "args1234": 4}


def table_directives():
    out = []
    rx = re.compile(r'\{name: "([a-z0-9_]+)", module: "([a-z0-9_]+)", ctx: ([^,]+), args: ([a-zA-Z0-9 |]+)(.*)')
    for path in TABLES:
        for line in open(path):
            m = rx.search(line)
            if not m:
                continue
            name, module, ctx, args, rest = m.groups()
            if module.startswith("mail"):
                continue
            ctxs = set()
            for c in ctx.split("|"):
                c = c.strip()
                ctxs.update(CTX_ALIASES.get(c, [c]))
            kinds = re.search(r"kinds: \[\]kind\{([^}]*)\}", rest)
            out.append({"name": name, "ctxs": ctxs, "args": [a.strip() for a in args.split("|")],
                        "kinds": [k.strip() for k in kinds.group(1).split(",")] if kinds else [],
                        "multi": "multi: true" in rest, "status": (re.search(r"status: (\w+)", rest) or [None, "implemented"])[1]})
    return out


def generated():
    seen = set()
    for d in table_directives():
        name, args = d["name"], d["args"]
        if name in seen or name in ("include", "load_module", "events", "http", "stream", "server", "location",
                                    "upstream", "if", "pid", "error_log"):
            continue
        seen.add(name)
        places = [(c, f) for c, f in PLACES if c in d["ctxs"]]
        if not places:
            continue
        ctx, wrap = places[0]
        block = "argsBlock" in args
        end = " {}" if block else ";"
        more = any(a in args for a in ("argsAny", "args1More", "args2More"))
        # Too many arguments.
        if not more:
            n = max(ARITY_MAX.get(a, 0) for a in args) + 1
            case(f"gen-{name}-too-many", wrap(f"{name} " + " ".join(["1"] * n) + end))
        # Too few.
        if "argsNone" not in args and "argsAny" not in args:
            case(f"gen-{name}-too-few", wrap(f"{name}{end}"))
        # The wrong context.
        if "ctxMain" not in d["ctxs"]:
            case(f"gen-{name}-in-main", main_conf(f"{name} x{end}"))
        elif "ctxHTTP" not in d["ctxs"]:
            case(f"gen-{name}-in-http", http(f"{name} x{end}"))
        if block:
            continue
        one = args in (["args1"], ["argsFlag"])
        if "argsFlag" in args:
            case(f"gen-{name}-flag-typo", wrap(f"{name} of;"))
            case(f"gen-{name}-flag-ok", wrap(f"{name} on;"))
            if not d["multi"]:
                case(f"gen-{name}-duplicate", wrap(f"{name} on;\n{name} off;"))
        elif one and len(d["kinds"]) == 1 and d["kinds"][0] in VALID:
            k = d["kinds"][0]
            case(f"gen-{name}-invalid", wrap(f"{name} {INVALID[k]};"))
            case(f"gen-{name}-valid", wrap(f"{name} {VALID[k]};"))
            if not d["multi"]:
                case(f"gen-{name}-duplicate", wrap(f"{name} {VALID[k]};\n{name} {VALID[k]};"))


# Differences fulcrum makes on purpose: case name -> the reason (and where the docs
# say so). A listed case that no longer differs is reported as fixed.
DESIGN = "by design, in docs/directives.md: "
OPEN = "open (not fixed yet): "
EXPECTED = {
    "syn-empty-file": DESIGN + "events {} is optional (Where fulcrum differs)",
    "syn-only-comments": DESIGN + "events {} is optional (Where fulcrum differs)",
    "syn-no-events": DESIGN + "events {} is optional (Where fulcrum differs)",
    "sem-listen-port-zero": DESIGN + "listen ADDR:0 binds an ephemeral port (Where fulcrum differs)",
    "sem-stream-upstream-bad-param": DESIGN + "slow_start= in a stream upstream is NGINX Plus's, which fulcrum takes (stream server)",
    "sem-proxy-pass-uri-limit-except": DESIGN + "proxy_pass inside limit_except is refused with a hint (limit_except)",
    "sem-user-unknown": DESIGN + "user is ignored, not looked up (Where fulcrum differs); nginx -t as root refuses an unknown one",
    "sem-use-poll": DESIGN + "use takes every method nginx has a module for; nginx-light on Linux has epoll only (use)",
    "sem-worker-connections-zero": "both refuse: nginx when it counts the listening sockets, fulcrum at the value",
    "sem-proxy-cache-undeclared": "both refuse; nginx names the http block's closing line, fulcrum the proxy_cache line",
    "sem-ssl-ticket-key-missing": "both refuse; nginx names the http block's closing line, fulcrum the ssl_session_ticket_key line",
    "gen-keepalive-invalid": "both refuse -1; wording of the number check",
    "gen-worker_connections-invalid": "both refuse -1; wording of the number check",
}


def expected_class(diff, nmsg):
    """A reason for a whole class of differences, or ""."""
    if diff == "WORDING" and nmsg.startswith("pcre2_compile() failed"):
        return DESIGN + "RE2's words for a bad regular expression (Where fulcrum differs: regular expressions)"
    return ""

LEVEL = re.compile(r"\[(emerg|alert|crit|warn)\] (?:\d+#\d+: )?(.*)")
WHERE = re.compile(r"^(.*?) in (/[^ ,]+):(\d+)(?:, (.*))?$")


def messages(out):
    """The [level] lines of a -t run as (level, message, file, line, hint)."""
    res = []
    for l in out.splitlines():
        m = LEVEL.search(l)
        if not m:
            continue
        lvl, msg = m.groups()
        w = WHERE.match(msg)
        if w:
            res.append((lvl, w.group(1), w.group(2), int(w.group(3)), w.group(4) or ""))
        else:
            res.append((lvl, msg, "", 0, ""))
    return res


def run_one(cmd, d):
    r = subprocess.run(cmd + ["-t", "-p", d + "/", "-c", d + "/nginx.conf"], capture_output=True, text=True, timeout=20)
    return r.returncode, messages(r.stdout + r.stderr), r.stdout + r.stderr


UNKNOWN = re.compile(r'^unknown directive "([^"]+)"')


def compare(name, files, fulcrum, work):
    d = os.path.join(work, "c")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for rel, text in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").write(text.replace("%D%", d))
    nrc, nmsg, nout = run_one(["nginx"], d)
    frc, fmsg, fout = run_one([fulcrum], d)
    nerr = [m for m in nmsg if m[0] != "warn"]
    ferr = [m for m in fmsg if m[0] != "warn"]
    if name.startswith("gen-") and nerr and UNKNOWN.match(nerr[0][1]):
        return "skip", "nginx-light does not know it", nout, fout
    diffs = []
    if (nrc == 0) != (frc == 0):
        diffs.append("ACCEPT/REFUSE" if nrc == 0 else "REFUSE/ACCEPT")
    elif nrc != 0 and nerr and ferr:
        # nginx names no line for what it finds after reading the files
        # (unknown variables, zones): fulcrum's line is extra, not different.
        if nerr[0][3] and (nerr[0][3] != ferr[0][3] or nerr[0][2] != ferr[0][2]):
            diffs.append("LINE")
        elif nerr[0][1] != ferr[0][1]:
            diffs.append("WORDING")
    nw = sorted((m[1], m[3]) for m in nmsg if m[0] == "warn")
    fw = sorted((m[1], m[3]) for m in fmsg if m[0] == "warn")
    missing = [w for w in nw if w not in fw]
    info = ("nginx warns " + "; ".join(f"{m} :{l}" for m, l in missing)) if missing else ""
    return ",".join(diffs), info, nout, fout


def short(out):
    keep = [re.sub(r"^\d+#\d+: ", "", l.split("] ", 1)[-1]) for l in out.splitlines()
            if "[" in l and "is ignored in" not in l]
    return " | ".join(keep)[:400]


def main():
    if len(sys.argv) < 2:
        print(__doc__); sys.exit(2)
    fulcrum, filters = os.path.abspath(sys.argv[1]), sys.argv[2:]
    verbose = os.environ.get("V") == "1"
    hand_written(); generated()
    work = tempfile.mkdtemp(prefix="config-sweep-")
    counts, bad, fixed = {}, 0, []
    try:
        for name, files in CASES:
            if filters and not any(f in name for f in filters):
                continue
            diff, info, nout, fout = compare(name, files, fulcrum, work)
            key = diff or "same"
            counts[key] = counts.get(key, 0) + 1
            if diff == "skip":
                continue
            nerr = [m for m in messages(nout) if m[0] != "warn"]
            reason = EXPECTED.get(name) or (expected_class(diff, nerr[0][1]) if diff and nerr else "")
            if diff and not reason:
                bad += 1
            if name in EXPECTED and not diff:
                fixed.append(name)
            if diff or verbose or (info and os.environ.get("W") == "1"):
                tag = diff or "same"
                if reason:
                    tag += " (expected: " + reason + ")"
                print(f"{name}: {tag} {info}")
                print("   nginx:   " + short(nout))
                print("   fulcrum: " + short(fout))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("summary:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for n in fixed:
        print(f"{n}: listed in EXPECTED but no longer differs")
    print(f"unexpected differences: {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
