package integration

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// authConf is the configuration of TestAuthBasic, with BACKEND for the
// backend's address. The realm has quotes, sent as they are. The user file is relative: it resolves against the
// configuration's directory, as nginx's conf prefix. nginx 1.22.1 with the
// same configuration answered as the test expects.
const authConf = `
events {}
http {
    access_log %DIR%/access.log combined buffer=0;
    server {
        listen 127.0.0.1:0;
        auth_basic "Staff \"only\" $server_port";
        auth_basic_user_file users;
        location / { proxy_pass http://BACKEND; }
        location /open/ { auth_basic off; proxy_pass http://BACKEND; }
        location /either/ { satisfy any; deny all; proxy_pass http://BACKEND; }
        location /write/ {
            auth_basic off;
            limit_except GET { auth_basic "Writers"; }
            proxy_pass http://BACKEND;
        }
    }
}
`

func TestAuthBasic(t *testing.T) {
	b := startBackend(t, "app")
	in := startFulcrum(t, strings.ReplaceAll(authConf, "BACKEND", b.addr()), 1)
	writeFiles(t, in.dir, map[string]string{"users": "# staff\nalice:$apr1$abc$NKxAkoTtUloZMd1uGIvNG0\n"})
	addr := in.listening()[0]
	_, port, _ := strings.Cut(addr, ":")
	login := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")) + "\r\n"
	wrong := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:px")) + "\r\n"
	tests := []struct {
		name, method, target, extra string
		status                      int
		challenge                   string // the WWW-Authenticate line of a 401
	}{
		{"no login", "GET", "/", "", 401, `WWW-Authenticate: Basic realm="Staff "only" ` + port + `"`},
		{"login", "GET", "/", login, 200, ""},
		{"wrong password", "GET", "/", wrong, 401, `WWW-Authenticate: Basic realm="Staff "only" ` + port + `"`},
		{"auth_basic off", "GET", "/open/", "", 200, ""},
		{"satisfy any: login wins over deny", "GET", "/either/", login, 200, ""},
		{"satisfy any: 401 over 403", "GET", "/either/", "", 401, `WWW-Authenticate: Basic realm="Staff "only" ` + port + `"`},
		{"limit_except: GET is free", "GET", "/write/", "", 200, ""},
		{"limit_except: HEAD is free", "HEAD", "/write/", "", 200, ""},
		{"limit_except: POST needs a login", "POST", "/write/", "", 401, `WWW-Authenticate: Basic realm="Writers"`},
		{"limit_except: POST with a login", "POST", "/write/", login, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra, body := tt.extra, ""
			if tt.method == "POST" {
				extra, body = extra+"Content-Length: 7\r\n", "foo=bar"
			}
			status, lines, _ := rawExchange(t, addr, tt.method, tt.target, extra, body)
			if status != tt.status {
				t.Fatalf("%s %s: %d, want %d", tt.method, tt.target, status, tt.status)
			}
			if tt.challenge != "" && !slices.Contains(lines, tt.challenge) {
				t.Errorf("no %q in %q", tt.challenge, lines)
			}
		})
	}
	waitFor(t, "the error log lines", func() bool {
		return countLines(in.logLines(), `[info] `) > 0 &&
			countLines(in.logLines(), `no user/password was provided for basic authentication, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", host: "test"`) == 1 &&
			countLines(in.logLines(), `[error] `) > 0 &&
			countLines(in.logLines(), `user "alice": password mismatch, client: 127.0.0.1, server: , request: "GET / HTTP/1.1"`) == 1
	})
	// $remote_user is the name sent, even with a wrong password (nginx too):
	// the login, the wrong password, /either/ and the POST.
	lines := waitLines(t, filepath.Join(in.dir, "access.log"), len(tests))
	if n := countLines(lines, `127.0.0.1 - alice [`); n != 4 {
		t.Errorf("access log has %d lines for alice, want 4:\n%s", n, strings.Join(lines, "\n"))
	}
}

// TestAuthConfigTest: fulcrum -t names the file and line of a directive
// limit_except does not take, and of a method it does not know.
func TestAuthConfigTest(t *testing.T) {
	conf := func(inner string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location / {\n            " + inner + "\n        }\n    }\n}\n"
	}
	tests := []struct{ inner, want string }{
		{"limit_except GET { proxy_pass http://127.0.0.1:9; }", `fulcrum: [emerg] fulcrum does not support "proxy_pass" inside "limit_except" yet in %s:6`},
		{"limit_except GET { root /srv; }", `fulcrum: [emerg] "root" directive is not allowed here in %s:6`},
		{"limit_except GET TRACE { deny all; }", `fulcrum: [emerg] invalid method "TRACE" in %s:6`},
		{"satisfy some;", `fulcrum: [emerg] invalid value "some" in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.inner, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf(tt.inner)})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			first, _, _ := strings.Cut(r.stderr, "\n")
			if want := fmt.Sprintf(tt.want, path); r.code != 1 || (first != want && !strings.HasPrefix(first, want+", ")) {
				t.Errorf("exit %d, first line %q, want 1 and %q", r.code, first, want)
			}
		})
	}
}
