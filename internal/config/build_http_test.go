package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		// upstreams
		{"duplicate upstream", "http {\nupstream a { server 127.0.0.1; }\nupstream A { server 127.0.0.2; }\n}",
			`duplicate upstream "A" in nginx.conf:3, upstream names must be unique`},
		{"empty upstream", "http { upstream a { } }", `no servers are inside upstream in nginx.conf:1`},
		// nginx checks the block when it is read: the line of its "}" (recorded)
		{"empty upstream, brace on its own line", "http {\nupstream a {\n}\n}", `no servers are inside upstream in nginx.conf:3`},
		{"empty stream upstream", "stream {\nupstream a {\n\n}\n}", `no servers are inside upstream in nginx.conf:4`},
		{"only backups, brace on its own line", "http {\nupstream a {\nserver 127.0.0.1 backup;\n}\n}", `no servers in upstream "a" in nginx.conf:2`},
		{"only backups", "http { upstream a { server 127.0.0.1 backup; } }", `no servers in upstream "a" in nginx.conf:1`},
		{"typo in parameter", "http { upstream a { server 127.0.0.1 wieght=2; } }",
			`invalid parameter "wieght=2" in nginx.conf:1, did you mean "weight=2"?`},
		{"unknown parameter", "http { upstream a { server 127.0.0.1 resolved; } }", `invalid parameter "resolved" in nginx.conf:1, did you mean "resolve"?`},
		{"weight 0", "http { upstream a { server 127.0.0.1 weight=0; } }", `invalid parameter "weight=0" in nginx.conf:1, weight is a whole number, 1 or more`},
		{"bad fail_timeout", "http { upstream a { server 127.0.0.1 fail_timeout=500ms; } }", `invalid parameter "fail_timeout=500ms" in nginx.conf:1`},
		{"negative max_fails", "http { upstream a { server 127.0.0.1 max_fails=-1; } }", `invalid parameter "max_fails=-1" in nginx.conf:1`},
		{"second method", "http { upstream a {\nleast_conn;\nip_hash;\nserver 127.0.0.1; } }",
			`load balancing method redefined in nginx.conf:3, an upstream has one balancing method; "least_conn" was set in `},
		{"same method twice", "http { upstream a { least_conn; least_conn; server 127.0.0.1; } }", `load balancing method redefined in nginx.conf:1`},
		{"backup with ip_hash", "http { upstream a { ip_hash; server 127.0.0.1; server 127.0.0.2 backup; } }",
			`balancing method does not support parameter "backup" in nginx.conf:1`},
		{"backup after random", "http { upstream a { random; server 127.0.0.1; server 127.0.0.2 backup; } }",
			`balancing method does not support parameter "backup" in nginx.conf:1`},
		{"stream backup after hash", "stream { upstream a { hash $remote_addr; server 127.0.0.1:1; server 127.0.0.2:1 backup; } }",
			`balancing method does not support parameter "backup" in nginx.conf:1`},
		{"hash parameter", "http { upstream a { hash $x bogus; server 127.0.0.1; } }", `invalid parameter "bogus" in nginx.conf:1`},
		{"random parameter", "http { upstream a { random three; server 127.0.0.1; } }", `invalid parameter "three" in nginx.conf:1`},
		{"keepalive 0", "http { upstream a { server 127.0.0.1; keepalive 0; } }", `invalid value "0" in "keepalive" directive in nginx.conf:1`},
		{"least_time time", "http { upstream a { least_time connect; server 127.0.0.1; } }",
			`invalid parameter "connect" in nginx.conf:1, use header or last_byte, optionally followed by inflight`},
		{"least_time second parameter", "http { upstream a { least_time header all; server 127.0.0.1; } }",
			`invalid parameter "all" in nginx.conf:1, the only second parameter of least_time is "inflight"`},
		{"method after queue", "http { upstream a {\nserver 127.0.0.1 max_conns=1;\nqueue 5;\nleast_time last_byte; } }",
			`"least_time" directive must come before "queue" in nginx.conf:4, move "least_time" above the "queue" directive in `},
		{"method after ntlm", "http { upstream a {\nserver 127.0.0.1;\nntlm;\nhash $uri; } }",
			`"hash" directive must come before "ntlm" in nginx.conf:4, move "hash" above the "ntlm" directive in `},
		{"ntlm with arguments", "http { upstream a { server 127.0.0.1; ntlm 100; } }", `invalid number of arguments in "ntlm" directive in nginx.conf:1`},
		{"ntlm in a location", "http { server { location / { ntlm; } } }", `"ntlm" directive is not allowed here in nginx.conf:1`},
		{"ntlm twice", "http { upstream a { server 127.0.0.1; ntlm; ntlm; } }", `"ntlm" directive is duplicate in nginx.conf:1`},
		{"internal_redirect in http", "http { internal_redirect /x; }", `"internal_redirect" directive is not allowed here in nginx.conf:1`},
		{"internal_redirect twice", "http { server { internal_redirect /x; internal_redirect /y; } }", `"internal_redirect" directive is duplicate in nginx.conf:1`},
		{"least_time and least_conn", "http { upstream a {\nleast_time header;\nleast_conn;\nserver 127.0.0.1; } }",
			`load balancing method redefined in nginx.conf:3, an upstream has one balancing method; "least_time" was set in `},
		{"queue 0", "http { upstream a { server 127.0.0.1; queue 0; } }", `invalid value "0" in "queue" directive in nginx.conf:1`},
		{"queue timeout", "http { upstream a { server 127.0.0.1; queue 5 timeout=soon; } }",
			`invalid parameter "timeout=soon" in nginx.conf:1, use timeout= with a time such as 10s or 500ms`},
		{"queue parameter", "http { upstream a { server 127.0.0.1; queue 5 10s; } }", `invalid parameter "10s" in nginx.conf:1`},
		{"queue twice", "http { upstream a { server 127.0.0.1; queue 5; queue 6; } }", `"queue" directive is duplicate in nginx.conf:1`},
		{"stream least_time header", "stream { upstream a { least_time header; server 127.0.0.1:1; } }",
			`invalid parameter "header" in nginx.conf:1, use connect, first_byte or last_byte, optionally followed by inflight`},
		{"upstream host not found", "http { upstream a { server nope.test:8080; } }", `host not found in upstream "nope.test:8080" in nginx.conf:1`},
		{"upstream port", "http { upstream a { server 127.0.0.1:99999; } }", `invalid port in upstream "127.0.0.1:99999" in nginx.conf:1`},
		{"upstream scheme", "http { upstream a { server http://127.0.0.1; } }", `invalid host in upstream "http://127.0.0.1" in nginx.conf:1`},
		{"upstream bare ipv6", "http { upstream a { server ::1; } }", `invalid host in upstream "::1" in nginx.conf:1`},

		// proxy_pass
		{"unknown upstream", "http {\nupstream backend { server 127.0.0.1; }\nserver { location / { proxy_pass http://backedn; } } }",
			`host not found in upstream "backedn" in nginx.conf:3, did you mean "backend"?`},
		{"unknown upstream with port", "http { server { location / { proxy_pass http://nope.test:8080/x; } } }",
			`host not found in upstream "nope.test" in nginx.conf:1, no upstream block has this name`},
		{"https with variables and verify without trusted certificate", "http { server { location / { proxy_ssl_verify on; proxy_pass https://$host; } } }",
			`no proxy_ssl_trusted_certificate for proxy_ssl_verify in nginx.conf:1`},
		{"http with variables and verify without trusted certificate", "http { server { location / { proxy_ssl_verify on; proxy_pass http://$host; } } }",
			`no proxy_ssl_trusted_certificate for proxy_ssl_verify in nginx.conf:1`},
		{"proxy_ssl_verify without trusted certificate", "http { server { location / { proxy_ssl_verify on; proxy_pass https://127.0.0.1; } } }",
			`no proxy_ssl_trusted_certificate for proxy_ssl_verify in nginx.conf:1`},
		{"proxy_ssl_certificate without key", "http { proxy_ssl_certificate c.pem; server { location / { proxy_pass https://127.0.0.1; } } }",
			`no "proxy_ssl_certificate_key" is defined for certificate "c.pem" in nginx.conf:1`},
		{"proxy_ssl_protocols gap", "http { proxy_ssl_protocols TLSv1 TLSv1.2; }",
			`fulcrum's TLS takes a range of versions, "proxy_ssl_protocols" has a gap in nginx.conf:1`},
		{"proxy_ssl_ciphers no match", "http { proxy_ssl_ciphers aNULL; }", `no cipher match in "proxy_ssl_ciphers aNULL" in nginx.conf:1`},
		{"proxy_ssl_trusted_certificate missing", "http { proxy_ssl_trusted_certificate /nonexistent/ca.pem; }",
			`SSL_CTX_load_verify_locations("/nonexistent/ca.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/nonexistent/ca.pem, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in nginx.conf:1`},
		{"bad scheme", "http { server { location / { proxy_pass ftp://127.0.0.1; } } }", `invalid URL prefix in nginx.conf:1`},
		{"no host", "http { server { location / { proxy_pass http://; } } }", `no host in upstream "" in nginx.conf:1`},
		{"bad port", "http { server { location / { proxy_pass http://127.0.0.1:0; } } }", `invalid port in upstream "127.0.0.1:0" in nginx.conf:1`},
		{"upstream with port", "http { upstream b { server 127.0.0.1; } server { location / { proxy_pass http://b:8080; } } }",
			`upstream "b" may not have port 8080 in nginx.conf:1`},
		{"uri in regex location", "http { server { location ~ /x { proxy_pass http://127.0.0.1/uri; } } }",
			`"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in nginx.conf:1`},
		{"uri in named location", "http { server { location @x { proxy_pass http://127.0.0.1/; } } }",
			`"proxy_pass" cannot have URI part in location given by regular expression`},
		{"redirect default first", "http { server { location / { proxy_redirect default; proxy_pass http://127.0.0.1; } } }",
			`"proxy_redirect default" should be placed after the "proxy_pass" directive in nginx.conf:1`},
		{"redirect default at http", "http { proxy_redirect default; }",
			`"proxy_redirect default" should be placed after the "proxy_pass" directive in nginx.conf:1`},
		{"redirect default with variables", "http { server { location / { proxy_pass http://$host; proxy_redirect default; } } }",
			`"proxy_redirect default" cannot be used with "proxy_pass" directive with variables in nginx.conf:1`},
		{"redirect off and more", "http { proxy_redirect off; proxy_redirect /a /b; }", `"proxy_redirect" directive is duplicate in nginx.conf:1`},
		{"redirect bad", "http { proxy_redirect bogus; }", `invalid parameter "bogus" in nginx.conf:1`},
		{"redirect bad regex", "http { proxy_redirect ~[ /; }", `pcre2_compile() failed: missing terminating ] for character class in "[" in nginx.conf:1`},
		{"next upstream off mixed", "http { proxy_next_upstream error off; }",
			`"proxy_next_upstream off" cannot be combined with other values in nginx.conf:1`},

		// limit_except
		{"limit_except method", "http { server { location / { limit_except GET TRACE { deny all; } } } }",
			`invalid method "TRACE" in nginx.conf:1, the methods are GET, HEAD, POST, PUT, DELETE, MKCOL, COPY, MOVE, OPTIONS, PROPFIND, PROPPATCH, LOCK, UNLOCK, PATCH`},

		// servers and locations
		{"two default servers", "http {\nserver { listen 80 default_server; }\nserver { listen *:80 default_server; }\n}",
			`a duplicate default server for 0.0.0.0:80 in nginx.conf:3, the other one is in `},
		{"duplicate listen", "http { server { listen 8080; listen 0.0.0.0:8080; } }", `a duplicate listen 0.0.0.0:8080 in nginx.conf:1`},
		{"listen port", "http { server { listen 127.0.0.1:99999; } }", `invalid port in "127.0.0.1:99999" of the "listen" directive in nginx.conf:1`},
		{"listen port 0", "http { server { listen 0; } }", `invalid port in "0" of the "listen" directive in nginx.conf:1`},
		{"listen host", "http { server { listen nope.test:80; } }", `host not found in "nope.test:80" of the "listen" directive in nginx.conf:1`},
		{"listen bad parameter", "http { server { listen 80 defualt_server; } }",
			`invalid parameter "defualt_server" in nginx.conf:1, did you mean "default_server"?`},
		{"listen ssl without a certificate", "http { server { listen 443 ssl; } }", `no "ssl_certificate" is defined for the "listen ... ssl" directive in nginx.conf:1`},
		{"listen backlog", "http { server { listen 80 backlog=x; } }", `invalid backlog "backlog=x" in nginx.conf:1`},
		{"listen ipv6only", "http { server { listen [::]:80 ipv6only=maybe; } }", `invalid ipv6only flags "maybe" in nginx.conf:1`},
		{"server name wildcard", "http { server { server_name *a; } }", `server name "*a" is invalid in nginx.conf:1`},
		{"server name middle wildcard", "http { server { server_name www.*.com; } server { server_name b; } }", `invalid server name or wildcard "www.*.com" on 0.0.0.0:80 in nginx.conf:1`},
		{"server name two wildcards", "http { server { server_name *.a.*; } server { server_name b; } }", `invalid server name or wildcard "*.a.*" on 0.0.0.0:80 in nginx.conf:1`},
		{"server name empty regex", "http { server { server_name ~; } }", `empty regex in server name "~" in nginx.conf:1`},
		{"server name dot", "http { server { server_name .; } }", `server name "." is invalid in nginx.conf:1`},
		{"server name empty label", "http { server { server_name a..b; } server { server_name b; } }",
			`invalid server name or wildcard "a..b" on 0.0.0.0:80 in nginx.conf:1`},
		{"server name bad regex", "http { server { server_name ~^(a; } }", `pcre2_compile() failed: missing closing parenthesis in "^(a" in nginx.conf:1`},
		{"server name recursion", "http { server { server_name ~^(a(?R)?b)$; } }", `invalid regular expression "^(a(?R)?b)$": `},
		// nginx 1.22.1: "pcre2_compile() failed: character code point value
		// in \x{} or \o{} is too large in "^/\x{100}" at "}"" (no UTF mode).
		{"regex code point over 0xff", `http { server { location ~ "^/\x{100}" { } } }`, `pcre2_compile() failed: character code point value in \x{} or \o{} is too large in "^/\x{100}" at "}" in nginx.conf:1`},
		{"duplicate location", "http { server {\nlocation /x {}\nlocation /x {}\n} }", `duplicate location "/x" in nginx.conf:3, first defined in `},
		{"duplicate ^~ and prefix", "http { server { location ^~ /x {} location /x {} } }", `duplicate location "/x" in nginx.conf:1`},
		{"duplicate exact", "http { server { location = /x {} location =/x {} } }", `duplicate location "/x" in nginx.conf:1`},
		{"duplicate nested", "http { server { location /a { location /a/b {} location /a/b {} } } }", `duplicate location "/a/b" in nginx.conf:1`},
		{"outside parent", "http { server { location /a { location /b {} } } }", `location "/b" is outside location "/a" in nginx.conf:1`},
		{"prefix inside regex", "http { server { location ~ ^/a { location /a/b {} } } }", `location "/a/b" is outside location "^/a" in nginx.conf:1`},
		{"exact inside regex", `http { server { location ~* \.php$ { location = /x.php {} } } }`, `location "/x.php" is outside location "\.php$" in nginx.conf:1`},
		{"inside exact", "http { server { location = /a { location /a/b {} } } }", `location "/a/b" cannot be inside the exact location "/a" in nginx.conf:1`},
		{"inside named", "http { server { location @a { location /a/b {} } } }", `location "/a/b" cannot be inside the named location "@a" in nginx.conf:1`},
		{"nested named", "http { server { location /a { location @b {} } } }", `named location "@b" can be on the server level only in nginx.conf:1`},
		{"bad modifier", "http { server { location ~~ a { } } }", `invalid location modifier "~~" in nginx.conf:1`},
		{"bad location regex", "http { server { location ~ [ { } } }", `pcre2_compile() failed: missing terminating ] for character class in "[" in nginx.conf:1`},
		{"root and alias", "http { server { location / { root /a; alias /b; } } }",
			`"alias" directive is duplicate, "root" directive was specified earlier in nginx.conf:1`},
		{"return code", "http { server { return abc; } }", `invalid return code "abc" in nginx.conf:1`},
		{"return code range", "http { server { return 1000; } }", `invalid return code "1000" in nginx.conf:1`},
		{"error_page range", "http { error_page 600 /x; }", `value "600" must be between 300 and 599 in nginx.conf:1`},
		{"error_page response", "http { error_page 404 =abc /x; }", `invalid value "=abc" in nginx.conf:1`},
		{"error_page code", "http { error_page abc /x; }", `invalid value "abc" in nginx.conf:1`},
		{"error_page 499", "http { error_page 404 499 /x; }", `invalid value "499" in nginx.conf:1`},
		{"alias in a named location", "http { server { location @n { alias /x/; } } }", `the "alias" directive cannot be used inside the named location in nginx.conf:1`},
		{"error_page order", "http { error_page 404 /x /y; }", `invalid value "/x" in nginx.conf:1`},
		{"try_files code", "http { server { try_files a =abc; } }", `invalid code "=abc" in nginx.conf:1`},
		{"empty index", `http { index ""; }`, `index "" in "index" directive is invalid in nginx.conf:1`},
		{"add_header third", "http { add_header X y bogus; }", `invalid parameter "bogus" in nginx.conf:1`},
		{"large buffers zero", "http { large_client_header_buffers 0 8k; }", `"large_client_header_buffers" directive invalid value in nginx.conf:1`},
		{"header buffer zero", "http { client_header_buffer_size 0; }", `"client_header_buffer_size" directive invalid value "0": a 0-byte buffer reads no request in nginx.conf:1`},
		{"keepalive header timeout", "http { keepalive_timeout 10 x; }", `"keepalive_timeout" directive invalid value in nginx.conf:1`},

		// logs, maps, main
		{"duplicate log_format", "http { log_format a x; log_format a y; }", `duplicate "log_format" name "a" in nginx.conf:1`},
		{"combined redefined", "http { log_format combined x; }", `duplicate "log_format" name "combined" in nginx.conf:1`},
		{"log escape", "http { log_format a escape=bogus x; }", `unknown log format escaping "bogus" in nginx.conf:1`},
		{"unknown log format", "http { log_format main x; access_log /x mian; }", `unknown log format "mian" in nginx.conf:1, did you mean "main"?`},
		{"access_log off extra", "http { access_log off x; }", `invalid parameter "x" in nginx.conf:1`},
		{"access_log parameter", "http { access_log /x combined bogus; }", `invalid parameter "bogus" in nginx.conf:1`},
		{"error_log level", "error_log /x bogus;", `invalid log level "bogus" in nginx.conf:1`},
		{"error_log two levels", "error_log /x warn error;", `duplicate log level "error" in nginx.conf:1`},
		{"worker_processes", "worker_processes AUTO;", `"worker_processes" directive invalid value in nginx.conf:1`},
		{"worker_connections 0", "events { worker_connections 0; }", `"worker_connections" directive invalid value in nginx.conf:1`},
		{"map variable", "http { map $a b { x y; } }", `invalid variable name "b" in nginx.conf:1`},
		{"map duplicate key", "http { map $a $b { x 1; X 2; } }", `conflicting parameter "X" in nginx.conf:1`},
		{"map duplicate default", "http { map $a $b { default 1; default 2; } }", `duplicate default map parameter in nginx.conf:1`},
		{"map bad regex", "http { map $a $b { ~[ 1; } }", `pcre2_compile() failed: missing terminating ] for character class in "["`},
		// nginx 1.22.1's ngx_hash_add_key refuses these hostnames keys (recorded)
		{"map hostnames star at both ends", "http { map $host $x { hostnames; *.example.* 1; } }", `invalid hostname or wildcard "*.example.*" in nginx.conf:1`},
		{"map hostnames star inside", "http { map $host $x { hostnames; www.*.com 1; } }", `invalid hostname or wildcard "www.*.com" in nginx.conf:1`},
		{"map hostnames star without dot", "http { map $host $x { hostnames; *x.com 1; } }", `invalid hostname or wildcard "*x.com" in nginx.conf:1`},
		{"map hostnames double dot", "http { map $host $x { hostnames; a..b.com 1; } }", `invalid hostname or wildcard "a..b.com" in nginx.conf:1`},
		// The lookahead of h5bp's, Laravel's and nginxconfig.io's dotfile rule
		// compiles (package pcre); PCRE syntax regexp2 lacks gets a hint.
		{"PCRE \\K", "http { server { location ~ /\\.(?!well-known)\\Kx { deny all; } } }",
			"invalid regular expression \"/\\.(?!well-known)\\Kx\": PCRE escape \\K is not supported in nginx.conf:1, " +
				"fulcrum reads PCRE syntax except recursion"},
		{"include missing", "http { include missing.conf; }", `open() "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

func TestBuildWarnings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"duplicate extension", "http { types { text/html html; text/plain html; } }",
			[]string{`duplicate extension "html", content type: "text/plain", previous content type: "text/html" in nginx.conf:1`}},
		// nginx 1.22.1 warns for a repeated extension even with the same type
		// (Nextcloud's types { application/wasm wasm; } after mime.types).
		{"duplicate extension, same type", "http { types { text/html html; text/html HTML; } }",
			[]string{`duplicate extension "html", content type: "text/html", previous content type: "text/html" in nginx.conf:1`}},
		{"conflicting server name", "http { server { server_name a; } server { server_name A; } }",
			[]string{`conflicting server name "a" on 0.0.0.0:80, ignored in nginx.conf:1, requests for it go to the server in `}},
		{"conflicting empty names", "http { server { } server { } }",
			[]string{`conflicting server name "" on 0.0.0.0:80, ignored in nginx.conf:1`}},
		{"names on different ports", "http { server { listen 81; server_name a; } server { listen 82; server_name a; } }", nil},
		// nginx 1.22.1 hashes (and checks) the names of an address with more
		// than one server, or whose default server's last regex name has
		// captures; one server alone is not checked (recorded)
		{"name twice in one server", "http { server { server_name a a; } server { server_name b; } }",
			[]string{`conflicting server name "a" on 0.0.0.0:80, ignored in nginx.conf:1`}},
		{"name twice, one server alone", "http { server { server_name a a; } }", nil},
		{"middle wildcard, one server alone", "http { server { server_name www.*.com a..b; } }", nil},
		{"name twice, last regex with captures", `http { server { server_name ~^b$ ~^(a)$ x x; } }`,
			[]string{`conflicting server name "x" on 0.0.0.0:80, ignored in nginx.conf:1`}},
		{"name twice, last regex without", `http { server { server_name ~^(a)$ ~^b$ x x; } }`, nil},
		{"server name with a slash", `http { server { server_name a/b "~^/(x)$"; } }`, []string{
			`server name "a/b" has suspicious symbols in nginx.conf:1`, `server name "~^/(x)$" has suspicious symbols in nginx.conf:1`}},
		{"duplicate next_upstream value", "http { proxy_next_upstream error error; }", []string{`duplicate value "error" in nginx.conf:1`}},
		// nginx's keepalive wraps the method set before it; a method after it
		// replaces that hook (nginx then keeps no upstream connections), and
		// nginx 1.22.1 warns "load balancing method redefined" (recorded)
		{"method after keepalive", "http { upstream a {\nserver 127.0.0.1;\nkeepalive 16;\nleast_conn;\n} }",
			[]string{`load balancing method redefined in nginx.conf:4, move "least_conn" above "keepalive" of nginx.conf:3, as nginx requires`}},
		{"method before keepalive", "http { upstream a { least_conn; server 127.0.0.1; keepalive 16; } }", nil},
		// nginx checks a backup against the method set before its line:
		// a method written below the servers accepts them (recorded)
		{"backup above ip_hash", "http { upstream a { server 127.0.0.1; server 127.0.0.2 backup; ip_hash; } }", nil},
		{"backup above hash", "http { upstream a { server 127.0.0.1; server 127.0.0.2 backup; hash $uri consistent; } }", nil},
		{"backup above random", "http { upstream a { server 127.0.0.2 backup; server 127.0.0.1; random; } }", nil},
		{"stream backup above hash", "stream { upstream a { server 127.0.0.1:1; server 127.0.0.2:1 backup; hash $remote_addr; } }", nil},
		{"absolute index not last", "http { index /a b; }", []string{`only the last index in "index" directive should be absolute in nginx.conf:1`}},
		{"listen http2 without ssl (h2c, as nginx 1.22)", "http { server { listen 80 http2; } }", nil},
		{"http2 on without ssl", "http { server { listen 80; http2 on; } }", []string{`"http2 on" for the address 0.0.0.0:80 without ssl (plain-text HTTP/2, h2c) is not supported and is ignored in nginx.conf:1`}},
		{"http2 off without ssl", "http { server { listen 80; http2 off; } }", nil},
		{"obsolete http2 directives", "http { http2_max_field_size 4k; http2_max_header_size 16k; http2_idle_timeout 3m; http2_recv_timeout 30s; http2_max_requests 10; }", []string{
			`the "http2_max_field_size" directive is obsolete, use the "large_client_header_buffers" directive instead in nginx.conf:1`,
			`the "http2_max_header_size" directive is obsolete, use the "large_client_header_buffers" directive instead in nginx.conf:1`,
			`the "http2_idle_timeout" directive is obsolete, use the "keepalive_timeout" directive instead in nginx.conf:1`,
			`the "http2_recv_timeout" directive is obsolete, use the "client_header_timeout" directive instead in nginx.conf:1`,
			`the "http2_max_requests" directive is obsolete, use the "keepalive_requests" directive instead in nginx.conf:1`}},
		{"listen reuseport", "http { server { listen 80 reuseport backlog=511; } }", []string{
			`"listen ... reuseport" is ignored in nginx.conf:1, fulcrum leaves this socket option to the system`,
			`"listen ... backlog" is ignored in nginx.conf:1, fulcrum leaves this socket option to the system`}},
		{"ipv6only on ipv4", "http { server { listen 80 ipv6only=on; } }", []string{`ipv6only is not supported on addr "0.0.0.0:80", ignored in nginx.conf:1`}},
		{"access_log gzip", "http { access_log /x combined gzip; }", []string{`fulcrum does not implement "access_log ... gzip" yet in nginx.conf:1, the log is written uncompressed`}},
		// A check URI without its "/" goes out as written ("GET healthz"),
		// which servers answer 400: every server would turn unhealthy.
		{"health_check uri without a slash", "http { upstream u { zone u 64k; server 10.0.0.1; } server { location / { proxy_pass http://u; health_check uri=healthz; } } }",
			[]string{`health_check "uri=healthz" is not a path: the checks send "GET healthz", which most servers refuse with 400 in nginx.conf:1, write uri=/healthz`}},
		{"health_check uri with its slash", "http { upstream u { zone u 64k; server 10.0.0.1; } server { location / { proxy_pass http://u; health_check uri=/healthz; } } }", nil},
		{"inherited directive warns once", "http { index /a b; server { location / {} location /x {} } server { listen 81; } }",
			[]string{`only the last index in "index" directive should be absolute in nginx.conf:1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.src)
			checkWarnings(t, cfg, tt.want)
		})
	}
}

// TestLeastTimeAndQueue reads least_time and queue (NGINX Plus).
func TestLeastTimeAndQueue(t *testing.T) {
	cfg := mustLoad(t, `http {
    upstream lt { least_time last_byte inflight; server 10.1.1.1 max_conns=2; queue 7 timeout=250ms; }
    upstream q { server 10.1.1.2; queue 3; }
    upstream h { least_time header; server 10.1.1.3; }
}
stream {
    upstream s { least_time first_byte; server 10.1.1.4:80; }
}`)
	tests := []struct {
		u        *Upstream
		method   BalanceMethod
		time     string
		inflight bool
		queue    int
		timeout  time.Duration
	}{
		{cfg.HTTP.Upstreams[0], MethodLeastTime, "last_byte", true, 7, 250 * time.Millisecond},
		{cfg.HTTP.Upstreams[1], MethodRoundRobin, "", false, 3, 60 * time.Second},
		{cfg.HTTP.Upstreams[2], MethodLeastTime, "header", false, 0, 0},
		{cfg.Stream.Upstreams[0], MethodLeastTime, "first_byte", false, 0, 0},
	}
	for _, tt := range tests {
		u := tt.u
		if u.Method != tt.method || u.LeastTime != tt.time || u.LeastTimeInflight != tt.inflight || u.Queue != tt.queue || u.QueueTimeout != tt.timeout {
			t.Errorf("%s: method %v %q inflight %v queue %d timeout %v, want %v %q %v %d %v", u.Name,
				u.Method, u.LeastTime, u.LeastTimeInflight, u.Queue, u.QueueTimeout, tt.method, tt.time, tt.inflight, tt.queue, tt.timeout)
		}
	}
	if got := MethodLeastTime.String(); got != "least_time" {
		t.Errorf("String %q", got)
	}
}

func TestUpstreams(t *testing.T) {
	cfg := mustLoad(t, `http {
    upstream backend {
        hash $request_uri consistent;
        server backend.test:8080 weight=3 max_fails=2 fail_timeout=1m max_conns=10;
        server [2001:db8::5]:81 down;
        server unix:/run/app.sock;
        server localhost;
        zone backend 64k;
        keepalive 32;
        keepalive_timeout 30s;
        keepalive_requests 50;
        keepalive_time 10m;
    }
    upstream lc { least_conn; server v6.test; server 10.1.1.1 backup; }
    upstream r2 { random two least_conn; server 10.1.1.2; }
    upstream r { random; server 10.1.1.3; }
    upstream ih { ip_hash; server 10.1.1.4; }
    server {
        location /a/ { proxy_pass http://BACKEND/api/; }
        location /b/ { proxy_pass http://127.0.0.1:9000; }
        location /c/ { proxy_pass http://127.0.0.1:9000/c/; }
        location /d/ { proxy_pass http://dual.test; }
        location /e/ { proxy_pass http://unix:/run/e.sock:/e/; }
        location /f/ { proxy_pass http://$host$request_uri; }
        location /g/ { proxy_pass http://unix:/run/g.sock; }
        location /h/ { proxy_pass http://[::1]:9001; }
        location /i/ { proxy_pass http://localhost:9000; }
    }
}`)
	h := cfg.HTTP
	var names []string
	for _, u := range h.Upstreams {
		names = append(names, u.Name)
	}
	wantNames := []string{"backend", "lc", "r2", "r", "ih", "127.0.0.1:9000", "dual.test", "unix:/run/e.sock", "unix:/run/g.sock", "[::1]:9001", "localhost:9000"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("upstreams %q\nwant      %q", names, wantNames)
	}
	b := h.Upstreams[0]
	if b.Method != MethodHash || b.HashKey != "$request_uri" || !b.HashConsistent || b.Keepalive != 32 ||
		b.KeepaliveTimeout != 30*time.Second || b.KeepaliveRequests != 50 || b.KeepaliveTime != 10*time.Minute || b.Implicit {
		t.Errorf("backend %+v", b)
	}
	var servers []string
	for _, s := range b.Servers {
		servers = append(servers, strings.Trim(fmtStruct(reflect.ValueOf(*s)), "{}"))
	}
	wantServers := []string{
		`Name="backend.test:8080" Network="tcp" Addr="10.0.0.1:8080" Weight=3 MaxFails=2 FailTimeout=1m0s MaxConns=10`,
		`Name="backend.test:8080" Network="tcp" Addr="10.0.0.2:8080" Weight=3 MaxFails=2 FailTimeout=1m0s MaxConns=10`,
		`Name="[2001:db8::5]:81" Network="tcp" Addr="[2001:db8::5]:81" Weight=1 MaxFails=1 FailTimeout=10s Down=true`,
		`Name="unix:/run/app.sock" Network="unix" Addr="/run/app.sock" Weight=1 MaxFails=1 FailTimeout=10s`,
		`Name="localhost" Network="tcp" Addr="127.0.0.1:80" Weight=1 MaxFails=1 FailTimeout=10s`,
	}
	if !reflect.DeepEqual(servers, wantServers) {
		t.Errorf("servers\n%s\nwant\n%s", strings.Join(servers, "\n"), strings.Join(wantServers, "\n"))
	}
	methods := []struct {
		u         *Upstream
		method    BalanceMethod
		randomTwo bool
	}{{h.Upstreams[1], MethodLeastConn, false}, {h.Upstreams[2], MethodRandom, true}, {h.Upstreams[3], MethodRandom, false}, {h.Upstreams[4], MethodIPHash, false}}
	for _, m := range methods {
		if m.u.Method != m.method || m.u.RandomTwo != m.randomTwo {
			t.Errorf("%s: method %s two=%t", m.u.Name, m.u.Method, m.u.RandomTwo)
		}
	}
	if s := h.Upstreams[1].Servers; s[0].Addr != "[2001:db8::1]:80" || !s[1].Backup {
		t.Errorf("lc servers %+v %+v", s[0], s[1])
	}

	locs := h.Servers[0].Locations
	pp := func(i int) *ProxyPass { return locs[i].Settings.ProxyPass }
	passes := []struct {
		p                 *ProxyPass
		upstream          *Upstream
		host, uri         string
		hasURI, variables bool
	}{
		{pp(0), b, "BACKEND", "/api/", true, false},
		{pp(1), h.Upstreams[5], "127.0.0.1:9000", "", false, false},
		{pp(2), h.Upstreams[5], "127.0.0.1:9000", "/c/", true, false},
		{pp(3), h.Upstreams[6], "dual.test", "", false, false},
		{pp(4), h.Upstreams[7], "localhost", "/e/", true, false},
		{pp(5), nil, "$host$request_uri", "", false, true},
		{pp(6), h.Upstreams[8], "localhost", "", false, false},
		{pp(7), h.Upstreams[9], "[::1]:9001", "", false, false},
		{pp(8), h.Upstreams[10], "localhost:9000", "", false, false},
	}
	for i, p := range passes {
		if p.p.Upstream != p.upstream || p.p.Host != p.host || p.p.URI != p.uri || p.p.HasURI != p.hasURI || p.p.HasVariables != p.variables || p.p.Scheme != "http" {
			t.Errorf("proxy_pass %d: %+v", i, *p.p)
		}
	}
	implicit := []struct {
		u       *Upstream
		network string
		addrs   []string
	}{
		{h.Upstreams[5], "tcp", []string{"127.0.0.1:9000"}},
		{h.Upstreams[6], "tcp", []string{"[2001:db8::2]:80", "10.0.0.9:80"}},
		{h.Upstreams[7], "unix", []string{"/run/e.sock"}},
		{h.Upstreams[9], "tcp", []string{"[::1]:9001"}},
		{h.Upstreams[10], "tcp", []string{"127.0.0.1:9000"}},
	}
	for _, im := range implicit {
		var addrs []string
		for _, s := range im.u.Servers {
			addrs = append(addrs, s.Addr)
			if s.Network != im.network || s.Weight != 1 || s.MaxFails != 1 || s.FailTimeout != 10*time.Second {
				t.Errorf("%s: server %+v", im.u.Name, s)
			}
		}
		if !reflect.DeepEqual(addrs, im.addrs) || !im.u.Implicit || im.u.KeepaliveTimeout != time.Minute {
			t.Errorf("%s: addrs %v implicit=%t", im.u.Name, addrs, im.u.Implicit)
		}
	}
}

func TestListensAndNames(t *testing.T) {
	cfg := mustLoad(t, `http {
    server {
        listen 8080 default_server;
        listen [::]:8080 default_server;
        listen *:8081;
        listen 127.0.0.1;
        listen [::1]:8082 ipv6only=off;
        listen localhost:8083;
        listen dual.test:8084;
        listen unix:/run/f.sock;
        listen 8085 default;
        server_name Example.ORG .Example.net *.wild.org mail.* ~^(?<sub>\w+)\.re\.org$ _ "";
        server_name second.org;
    }
}`)
	s := cfg.HTTP.Servers[0]
	var listens []string
	for _, l := range s.Listens {
		listens = append(listens, strings.Trim(fmtStruct(reflect.ValueOf(l)), "{}"))
	}
	want := []string{
		`Network="tcp" Addr="0.0.0.0:8080" DefaultServer=true`,
		`Network="tcp" Addr="[::]:8080" DefaultServer=true IPv6Only=true`,
		`Network="tcp" Addr="0.0.0.0:8081"`,
		`Network="tcp" Addr="127.0.0.1:80"`,
		`Network="tcp" Addr="[::1]:8082" Options=true`,
		`Network="tcp" Addr="127.0.0.1:8083"`,
		`Network="tcp" Addr="10.0.0.9:8084"`,
		`Network="unix" Addr="/run/f.sock"`,
		`Network="tcp" Addr="0.0.0.0:8085" DefaultServer=true`,
	}
	if !reflect.DeepEqual(listens, want) {
		t.Errorf("listens\n%s\nwant\n%s", strings.Join(listens, "\n"), strings.Join(want, "\n"))
	}
	var names []string
	for _, n := range s.Names {
		names = append(names, n.Kind.String()+" "+n.Name)
	}
	wantNames := []string{"exact example.org", "exact example.net", "lead_wildcard *.example.net", "lead_wildcard *.wild.org",
		"trail_wildcard mail.*", `regex ^(?<sub>\w+)\.re\.org$`, "exact _", "exact ", "exact second.org"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("names %q\nwant  %q", names, wantNames)
	}
	re := s.Names[5].Regex
	if m := re.FindStringSubmatch("WWW.RE.ORG"); m == nil || m[re.SubexpIndex("sub")] != "WWW" {
		t.Errorf("regex server name: %v", m)
	}
}

func TestLocations(t *testing.T) {
	cfg := mustLoad(t, `http { server {
        location / { location /a/ { location /a/b/ { } location ~ \.x$ { } } }
        location = /exact { }
        location =/glued { }
        location ^~ /static/ { }
        location ^~/g2/ { }
        location ~ \.PHP$ { }
        location ~* \.png$ { }
        location ~*\.gif$ { }
        location @fallback { }
        location ~ /x { }
        location ~ /x { }
        location noslash { }
    } }`)
	var got []string
	var walk func(ls []*Location, depth int)
	walk = func(ls []*Location, depth int) {
		for _, l := range ls {
			got = append(got, strings.Repeat(" ", depth)+l.Modifier.String()+"|"+l.Path)
			if l.Settings == nil {
				t.Errorf("%s: nil Settings", l.Path)
			}
			walk(l.Locations, depth+1)
		}
	}
	walk(cfg.HTTP.Servers[0].Locations, 0)
	want := []string{"|/", " |/a/", "  |/a/b/", `  ~|\.x$`, "=|/exact", "=|/glued", "^~|/static/", "^~|/g2/",
		`~|\.PHP$`, `~*|\.png$`, `~*|\.gif$`, "@|@fallback", "~|/x", "~|/x", "|noslash"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("locations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	locs := cfg.HTTP.Servers[0].Locations
	checks := []struct {
		loc   *Location
		match string
		want  bool
	}{
		{locs[5], "/a.PHP", true}, {locs[5], "/a.php", false},
		{locs[6], "/A.PNG", true}, {locs[7], "/x.GIF", true},
	}
	for _, c := range checks {
		if got := c.loc.Regex.MatchString(c.match); got != c.want {
			t.Errorf("%s matches %q: %t", c.loc.Path, c.match, got)
		}
	}
}

func TestTypesAndMaps(t *testing.T) {
	cfg := mustLoad(t, `http {
    types { text/html html HTM; image/png png; }
    types { text/css css; }
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    map $host $site {
        hostnames;
        volatile;
        default none;
        .example.org org;
        *.example.com com;
        mail.* mail;
        ~^(?<n>\w+)\.test$ $n;
        ~*^CASE case;
        \default literal;
    }
    server { location / { } location /dl/ { types { } default_type application/octet-stream; } }
}`)
	h := cfg.HTTP
	wantTypes := map[string]string{"html": "text/html", "htm": "text/html", "png": "image/png", "css": "text/css"}
	if !reflect.DeepEqual(h.Types, wantTypes) {
		t.Errorf("types %v", h.Types)
	}
	if got := h.Servers[0].Locations[0].Settings.Types; !reflect.DeepEqual(got, wantTypes) {
		t.Errorf("inherited types %v", got)
	}
	if got := h.Servers[0].Locations[1].Settings.Types; len(got) != 0 {
		t.Errorf("empty types block: %v", got)
	}
	if len(h.Maps) != 2 {
		t.Fatalf("maps %d", len(h.Maps))
	}
	up := h.Maps[0]
	if up.Source != "$http_upgrade" || up.Variable != "connection_upgrade" || up.Default != "upgrade" || len(up.Entries) != 1 || up.Entries[0].Key != "" || up.Entries[0].Value != "close" {
		t.Errorf("map 1: %+v", up)
	}
	site := h.Maps[1]
	var entries []string
	for _, e := range site.Entries {
		entries = append(entries, e.Kind.String()+" "+e.Key+" "+e.Value)
	}
	want := []string{"exact example.org org", "lead_wildcard *.example.org org", "lead_wildcard *.example.com com",
		"trail_wildcard mail.* mail", `regex ^(?<n>\w+)\.test$ $n`, "regex ^CASE case", "exact default literal"}
	if !reflect.DeepEqual(entries, want) || !site.Hostnames || !site.Volatile || site.Default != "none" {
		t.Errorf("map 2: %q hostnames=%t volatile=%t default=%q", entries, site.Hostnames, site.Volatile, site.Default)
	}
	if !site.Entries[5].Regex.MatchString("case") {
		t.Errorf("~* map key is not caseless")
	}
}

// TestPlannedValuesThatMatchFulcrum: a planned directive whose value asks for
// what fulcrum does anyway (the audit's "gzip off", "merge_slashes on", ...)
// loads without a warning; one asking for the missing feature still warns.
func TestPlannedValuesThatMatchFulcrum(t *testing.T) {
	tests := []struct {
		dir  string
		warn string // the warning's start; "" for none
	}{
		{"gzip_static OFF;", ""}, // nginx compares flags case-insensitively
		{"autoindex off;", ""},
		{"autoindex on;", ""}, // implemented
		{"merge_slashes on;", ""},
		{"merge_slashes off;", ""}, // implemented
		{"charset off;", ""},
		{"charset utf-8;", ""}, // implemented: no warning
		{"proxy_cache off;", ""},
		{"limit_rate 0;", ""},
		{"limit_rate 10k;", ""}, // implemented: no warning
		{"proxy_ignore_client_abort off;", ""},
		{"proxy_ignore_client_abort on;", ""}, // implemented
		{"ssi off;", ""},
		{"gzip_static off;", ""},
		{"gzip_static on;", ""}, // implemented
		{"proxy_ssl_server_name off;", ""},
		{"proxy_limit_rate 0;", ""},
		{"proxy_store off;", ""},
		{"proxy_store on;", ""}, // implemented
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { "+tt.dir+" } }")
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.String())
			}
			switch {
			case tt.warn == "" && len(got) != 0:
				t.Errorf("warnings %q, want none", got)
			case tt.warn != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.warn)):
				t.Errorf("warnings %q, want one starting %q", got, tt.warn)
			}
		})
	}
}

// checkWarnings checks cfg's warnings against want, one prefix each, in
// order, with the file names written as "nginx.conf".
func checkWarnings(t *testing.T, cfg *Config, want []string) {
	t.Helper()
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, strings.ReplaceAll(w.String(), w.Pos.File, "nginx.conf"))
	}
	if len(got) != len(want) {
		t.Fatalf("warnings %q\nwant %q", got, want)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %q\nwant %q...", got[i], want[i])
		}
	}
}

// TestProxyPassVariableScheme: nginx's ngx_http_proxy_pass checks nothing of
// a URL with variables, its scheme included, so SWAG's
// "proxy_pass $upstream_proto://$upstream_app:$upstream_port;" loads, with
// the scheme left to each request; a literal scheme is still read.
func TestProxyPassVariableScheme(t *testing.T) {
	for _, tc := range []struct{ url, scheme, host string }{
		{"$upstream_proto://$upstream_app:$upstream_port", "", ""},
		{"$target", "", ""},
		{"https://$upstream_app:8443", "https", "$upstream_app:8443"},
	} {
		cfg := mustLoad(t, "http { server { location / { proxy_pass "+tc.url+"; } } }")
		p := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyPass
		if !p.HasVariables || p.Scheme != tc.scheme || p.Host != tc.host || p.Upstream != nil {
			t.Errorf("proxy_pass %s: %+v, want scheme %q host %q with variables", tc.url, p, tc.scheme, tc.host)
		}
	}
}

// TestBackupAboveMethod: nginx 1.22.1 checks each server line against the
// balancing method set before it, so backup servers written above an
// ip_hash, hash or random line load, and stay backups (nginx reaches them
// through the method's round-robin fallback once the primaries failed).
func TestBackupAboveMethod(t *testing.T) {
	cfg := mustLoad(t, `http {
    upstream d { server 10.1.1.4; server 10.1.1.5 backup; ip_hash; }
    upstream e { server 10.1.1.4; server 10.1.1.5 backup; hash $uri consistent; }
}
stream {
    upstream s { server 10.1.1.6:80; server 10.1.1.7:80 backup; random two; }
}`)
	for _, u := range []*Upstream{cfg.HTTP.Upstreams[0], cfg.HTTP.Upstreams[1], cfg.Stream.Upstreams[0]} {
		if u.Method == MethodRoundRobin || len(u.Servers) != 2 || u.Servers[0].Backup || !u.Servers[1].Backup {
			t.Errorf("%s: method %v servers %d, want a method and a primary and a backup", u.Name, u.Method, len(u.Servers))
		}
	}
}

// TestRealIPFromNames: set_real_ip_from's host names are resolved in stream
// too, as nginx's realip modules do; a value that is neither an address nor
// a name DNS knows fails as nginx words it (recorded with nginx 1.22.1:
// "10.0.0.0/33").
func TestRealIPFromNames(t *testing.T) {
	cfg := mustLoad(t, `stream { server { listen 127.0.0.1:1; set_real_ip_from v6.test; set_real_ip_from 10.1.0.0/16; return x; } }`)
	if got, want := strings.Join(cfg.Stream.Servers[0].SetRealIPFrom, " "), "2001:db8::1 10.1.0.0/16"; got != want {
		t.Errorf("stream: %q, want %q", got, want)
	}
	for _, src := range []string{
		"http { set_real_ip_from 10.0.0.0/33; }",
		"stream { server { listen 127.0.0.1:1; set_real_ip_from 10.0.0.0/33; return x; } }",
	} {
		_, err := loadText(t, src)
		if want := `host not found in set_real_ip_from "10.0.0.0/33" in nginx.conf:1`; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
