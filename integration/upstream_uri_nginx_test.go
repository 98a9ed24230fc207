package integration

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// upURIErrLine takes an error log line apart: level, message up to the
// request context, the request line's target and the "upstream:" URL.
var upURIErrLine = regexp.MustCompile(`^\S+ \S+ \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?), client: .*, request: "\w+ (\S+) [^"]*"(?:, upstream: "([^"]*)")?`)

// upURIReq is one request of TestUpstreamURIInErrorLog and the error log
// lines nginx wrote for it: "[level] message upstream: URL", with the
// backends' names for their addresses.
type upURIReq struct {
	uri  string
	errs []string
}

// shortTempDir is a temporary directory with a path short enough for unix
// sockets (t.TempDir's may pass the 108 bytes of sun_path), removed when
// the test ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// deadSocket leaves a unix socket file at path that nothing listens on: a
// connect to it is refused (111).
func deadSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// TestUpstreamURIInErrorLog checks the "upstream:" part of the error log
// lines about an upstream: nginx writes the scheme, the server and
// r->upstream->uri, which its proxy module sets to the request target it
// sent upstream (ngx_http_proxy_create_request: after proxy_pass's URI part
// replaced the location's prefix, after a "rewrite ... break", an internal
// redirect, or the URI a proxy_pass with variables gives, with the
// arguments), and the other modules (FastCGI, SCGI, uwsgi, memcached, gRPC)
// leave empty. Recorded from nginx 1.22.1 with
//
//	go test -tags nginxdiff -count=1 -run TestUpstreamURIInErrorLog ./integration/
//
// The servers refuse connections ("rN"): one line per request, or, for
// two of them, each one's connect() failure and "temporarily disabled",
// then "no live upstreams".
func TestUpstreamURIInErrorLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		servers string // the upstream block's body, {NAME} standing for a refused server
		// locations is the server block's body after listen, {UP} standing for
		// the upstream's name.
		locations string
		reqs      []upURIReq
	}{
		{
			name:      "proxy_pass without a URI part",
			servers:   "server {r1};",
			locations: "location / { proxy_pass http://{UP}; }",
			reqs: []upURIReq{
				{"/a/b?x=1&y", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/a/b?x=1&y"`}},
				{"/a%20b/./c", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/a%20b/./c"`}},
			},
		},
		{
			name:      "proxy_pass with a URI part replaces the location's prefix",
			servers:   "server {r1};",
			locations: "location /p/ { proxy_pass http://{UP}/base/; } location /q/ { proxy_pass http://{UP}/b; }",
			reqs: []upURIReq{
				{"/p/x/y?a=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/x/y?a=1"`}},
				{"/p/a%20b", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/a%20b"`}},
				{"/q/z", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/bz"`}},
				{"/p/?", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/"`}},
			},
		},
		{
			name:      "proxy_pass with variables in a regex location",
			servers:   "server {r1};",
			locations: `location ~ ^/v/(.*)$ { proxy_pass http://{UP}/x/$1; } location ~ ^/w/ { proxy_pass http://{UP}$request_uri; } location ~ ^/n/ { proxy_pass http://{UP}; }`,
			reqs: []upURIReq{
				{"/v/abc?q=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/x/abc"`}},
				{"/w/abc?q=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/w/abc?q=1"`}},
				{"/n/abc?q=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/n/abc?q=1"`}},
			},
		},
		{
			name:    "rewrite break",
			servers: "server {r1};",
			locations: `location /rw/ { rewrite ^/rw/(.*)$ /new/$1 break; proxy_pass http://{UP}; }
        location /rp/ { rewrite ^/rp/(.*)$ /rp/z/$1 break; proxy_pass http://{UP}/base/; }
        location /ra/ { rewrite ^ /new?k=v break; proxy_pass http://{UP}; }`,
			reqs: []upURIReq{
				{"/rw/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/new/a?x=1"`}},
				{"/rp/a", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/rp/z/a"`}},
				{"/ra/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/new?k=v&x=1"`}},
			},
		},
		{
			name:    "internal redirects to a proxying location",
			servers: "server {r1};",
			locations: `location /p/ { proxy_pass http://{UP}/base/; }
        location /ep/ { error_page 404 = /p/fromerr; return 404; }
        location /tu/ { try_files /nonexistent /p/tried; }
        location /tn/ { try_files /nonexistent @back; }
        location @back { proxy_pass http://{UP}; }`,
			reqs: []upURIReq{
				{"/ep/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/fromerr"`}},
				{"/tu/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/tried"`}},
				{"/tn/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/tn/a?x=1"`}},
			},
		},
		{
			name:      "disabled servers and no live upstreams",
			servers:   "server {r1}; server {r2};",
			locations: "location /p/ { proxy_pass http://{UP}/base/; }",
			reqs: []upURIReq{
				{"/p/one?a", []string{
					`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r1/base/one?a"`,
					`[warn] upstream server temporarily disabled while connecting to upstream upstream: "http://r1/base/one?a"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "http://r2/base/one?a"`,
					`[warn] upstream server temporarily disabled while connecting to upstream upstream: "http://r2/base/one?a"`,
				}},
				{"/p/two?b", []string{`[error] no live upstreams while connecting to upstream upstream: "http://app/base/two?b"`}},
			},
		},
		{
			name:    "other modules name no URI",
			servers: "server {r1};",
			locations: `location /f/ { fastcgi_pass {UP}; }
        location /s/ { scgi_pass {UP}; }
        location /u/ { uwsgi_pass {UP}; }
        location /m/ { set $memcached_key $uri; memcached_pass {UP}; }
        location /g/ { grpc_pass grpc://{UP}; }`,
			reqs: []upURIReq{
				{"/f/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "fastcgi://r1"`}},
				{"/s/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "scgi://r1"`}},
				{"/u/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "uwsgi://r1"`}},
				{"/m/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "memcached://r1"`}},
				{"/g/a?x=1", []string{`[error] connect() failed (111: Connection refused) while connecting to upstream upstream: "grpc://r1"`}},
			},
		},
		{
			// A unix socket's connect fails at once (ngx_event_connect_peer):
			// "connect() to unix:PATH failed", at crit for a missing file,
			// and a ":" between the socket and the URI in upstream:.
			name:      "unix socket, missing",
			servers:   "server {u:gone};",
			locations: "location /p/ { proxy_pass http://{UP}/base/; } location /f/ { fastcgi_pass {UP}; } location /g/ { grpc_pass grpc://{UP}; }",
			reqs: []upURIReq{
				{"/p/x?a=1", []string{`[crit] connect() to unix:gone failed (2: No such file or directory) while connecting to upstream upstream: "http://unix:gone:/base/x?a=1"`}},
				{"/f/y", []string{`[crit] connect() to unix:gone failed (2: No such file or directory) while connecting to upstream upstream: "fastcgi://unix:gone:"`}},
				{"/g/w", []string{`[crit] connect() to unix:gone failed (2: No such file or directory) while connecting to upstream upstream: "grpc://unix:gone:"`}},
			},
		},
		{
			name:      "unix socket, refused",
			servers:   "server {d:dead};",
			locations: "location /p/ { proxy_pass http://{UP}; } location /m/ { set $memcached_key $uri; memcached_pass {UP}; }",
			reqs: []upURIReq{
				{"/p/x", []string{`[error] connect() to unix:dead failed (111: Connection refused) while connecting to upstream upstream: "http://unix:dead:/p/x"`}},
				{"/m/z", []string{`[error] connect() to unix:dead failed (111: Connection refused) while connecting to upstream upstream: "memcached://unix:dead:"`}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names := map[string]string{} // address -> name
			servers := upPlaceholder.ReplaceAllStringFunc(tt.servers, func(m string) string {
				name := m[1 : len(m)-1]
				if kind, sock, ok := strings.Cut(name, ":"); ok {
					// {u:NAME}: a unix socket path with no file;
					// {d:NAME}: a socket file nothing listens on.
					path := filepath.Join(shortTempDir(t), sock+".sock")
					if kind == "d" {
						deadSocket(t, path)
					}
					names[path] = sock
					return "unix:" + path
				}
				a := closedPorts(t, 1)[0]
				names[a] = name
				return a
			})
			in := startUpstreamTarget(t, `
events {}
http {
    log_format up '$request_uri $status';
    access_log %DIR%/access.log up buffer=4k flush=50ms;
    upstream app {
        `+servers+`
    }
    server {
        listen 127.0.0.1:0;
        root %DIR%;
        `+strings.ReplaceAll(tt.locations, "{UP}", "app")+`
    }
}`)
			errsOf := func(uri string) []string {
				var out []string
				for _, l := range in.logLines() {
					m := upURIErrLine.FindStringSubmatch(l)
					if m == nil || m[1] == "notice" || m[1] == "info" || m[3] != uri {
						continue
					}
					msg, up := m[2], m[4]
					for a, n := range names {
						msg, up = strings.ReplaceAll(msg, a, n), strings.ReplaceAll(up, a, n)
					}
					out = append(out, "["+m[1]+"] "+msg+` upstream: "`+up+`"`)
				}
				return out
			}
			client := newClient()
			for _, r := range tt.reqs {
				resp, err := client.Get(in.url(0) + r.uri)
				if err != nil {
					t.Fatalf("%s: %v", r.uri, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway {
					t.Errorf("%s: status %d, nginx 502", r.uri, resp.StatusCode)
				}
				accessLine(t, in, r.uri) // the request is over
				var got []string
				waitFor(t, "the error log lines of "+r.uri, func() bool {
					got = errsOf(r.uri)
					return len(got) >= len(r.errs)
				})
				if strings.Join(got, "\n") != strings.Join(r.errs, "\n") {
					t.Errorf("%s: error log\n  %s\nnginx\n  %s", r.uri, strings.Join(got, "\n  "), strings.Join(r.errs, "\n  "))
				}
			}
		})
	}
}
