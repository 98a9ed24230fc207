package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// authRequestConf protects locations with auth_request. %[1]s is the
// authentication service, %[2]s the application, %[3]s the directory.
// Every answer the test expects was checked against nginx 1.22.1 with the
// same locations and backends.
const authRequestConf = `
    log_format ar "$request_uri $status [$upstream_status] [$user]";
    access_log %[3]s/access.log ar buffer=0;
    auth_basic_user_file %[3]s/users;
    server {
        listen 127.0.0.1:0;
        location / {
            auth_request /auth;
            auth_request_set $user $upstream_http_x_auth_user;
            auth_request_set $v "$request_method|$uri|$args|$status|$upstream_status";
            add_header X-V $v always;
            proxy_set_header X-User $user;
            proxy_pass http://%[2]s;
        }
        location = /auth {
            internal;
            proxy_pass http://%[1]s/verify;
            # The client's length would go without the body, which the
            # service waits for (TestAuthRequestAnnouncesLength).
            proxy_set_header Content-Length "";
        }
        location /deny {
            auth_request /auth;
            auth_request_set $user $upstream_http_x_auth_user;
            error_page 401 = @login;
            proxy_pass http://%[2]s;
        }
        location @login { return 302 /login?u=$user; }
        location /dead { auth_request /deadauth; proxy_pass http://%[2]s; }
        location = /deadauth { internal; proxy_pass http://127.0.0.1:1; }
        location /ret { auth_request /r204; proxy_pass http://%[2]s; }
        location = /r204 { return 204; }
        location /subskips { auth_request /guarded; proxy_pass http://%[2]s; }
        location /guarded { deny all; auth_request /nowhere; proxy_pass http://%[1]s; }
        location /off { auth_request off; proxy_pass http://%[2]s; }
        location /sa { satisfy any; allow 127.0.0.2; deny all; auth_request /auth; proxy_pass http://%[2]s; }
        location /sb { satisfy any; allow 127.0.0.1; auth_request /auth; proxy_pass http://%[2]s; }
        location /sc { deny all; auth_request /auth; proxy_pass http://%[2]s; }
        location /ab { satisfy any; auth_basic r; auth_request /auth; proxy_pass http://%[2]s; }
        location /args {
            auth_request /auth;
            auth_request_set $args "x=$upstream_http_x_auth_user&$args";
            proxy_pass http://%[2]s;
        }
    }
`

// authService answers by the request's X-Auth field: "ok" 200, "204",
// "301", "403", "404", "500", anything else 401, always with X-Auth-User
// and two WWW-Authenticate fields, and records what it was asked.
type authService struct {
	mu   sync.Mutex
	seen []string
}

func (a *authService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.seen = append(a.seen, fmt.Sprintf("%s %s cl=%q body=%d x-auth=%s", r.Method, r.RequestURI, r.Header.Get("Content-Length"), len(body), r.Header.Get("X-Auth")))
	a.mu.Unlock()
	w.Header().Set("X-Auth-User", "alice")
	w.Header().Add("WWW-Authenticate", `Bearer realm="a"`)
	w.Header().Add("WWW-Authenticate", `Basic realm="b"`)
	code := http.StatusUnauthorized
	switch v := r.Header.Get("X-Auth"); v {
	case "ok":
		code = http.StatusOK
	case "204", "301", "403", "404", "500":
		fmt.Sscan(v, &code)
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "auth body")
}

// last returns what the service was asked last, and forgets it.
func (a *authService) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return ""
	}
	s := a.seen[len(a.seen)-1]
	a.seen = nil
	return s
}

func TestAuthRequest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte("bob:{PLAIN}pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := &authService{}
	as := httptest.NewServer(auth)
	t.Cleanup(as.Close)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "app %s %s user=%s body=%d", r.Method, r.RequestURI, r.Header.Get("X-User"), len(body))
	}))
	t.Cleanup(app.Close)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(authRequestConf, as.Listener.Addr(), app.Listener.Addr(), dir))
	tests := []struct {
		name, method, path, xauth, login string
		status                           int
		// body is the answer's body for a request let in (the whole of
		// it) or its first bytes; asked is what the service was asked ("" for
		// nothing); www the WWW-Authenticate fields, xv the X-V field.
		body, asked, www, xv, location, log string
	}{
		{name: "allowed", method: "GET", path: "/foo?a=1", xauth: "ok", status: 200,
			body: "app GET /foo?a=1 user=alice body=0", asked: `GET /verify cl="" body=0 x-auth=ok`, xv: "GET|/auth||200|200"},
		{name: "204 allows", method: "GET", path: "/foo", xauth: "204", status: 200, body: "app GET /foo user=alice", xv: "GET|/auth||204|204"},
		{name: "401", method: "GET", path: "/foo", status: 401, body: "<html>", www: `Bearer realm="a"`, xv: "GET|/auth||401|401"},
		{name: "403", method: "GET", path: "/foo", xauth: "403", status: 403, xv: "GET|/auth||403|403"},
		{name: "301 is an error", method: "GET", path: "/foo", xauth: "301", status: 500, xv: "GET|/auth||301|301",
			log: "error auth request unexpected status: 301"},
		{name: "404 is an error", method: "GET", path: "/foo", xauth: "404", status: 500, xv: "GET|/auth||404|404"},
		{name: "500 is an error", method: "GET", path: "/foo", xauth: "500", status: 500, xv: "GET|/auth||500|500"},
		{name: "service down", method: "GET", path: "/dead", xauth: "ok", status: 500, log: "error auth request unexpected status: 502"},
		{name: "PUT asks with GET, no body, no length (proxy_set_header)", method: "PUT", path: "/foo", xauth: "ok", status: 200,
			body: "app PUT /foo user=alice body=4", asked: `GET /verify cl="" body=0 x-auth=ok`},
		{name: "HEAD asks with GET", method: "HEAD", path: "/foo", xauth: "ok", status: 200, asked: `GET /verify cl="" body=0 x-auth=ok`},
		{name: "internal auth location", method: "GET", path: "/auth", xauth: "ok", status: 404},
		{name: "error_page sees the variables", method: "GET", path: "/deny", status: 302, location: "/login?u=alice", www: `Bearer realm="a"`},
		{name: "error_page: allowed", method: "GET", path: "/deny", xauth: "ok", status: 200, body: "app GET /deny user= body=0"},
		{name: "return in the auth location", method: "GET", path: "/ret", status: 200, body: "app GET /ret user="},
		{name: "no access phase in the subrequest", method: "GET", path: "/subskips", xauth: "ok", status: 200,
			body: "app GET /subskips user=", asked: `GET /guarded cl="" body=0 x-auth=ok`},
		{name: "off", method: "GET", path: "/off", status: 200, body: "app GET /off user="},
		{name: "any: denied, service allows", method: "GET", path: "/sa", xauth: "ok", status: 200, body: "app GET /sa user="},
		{name: "any: denied, service refuses", method: "GET", path: "/sa", status: 401, www: `Bearer realm="a"`},
		{name: "any: denied, service forbids", method: "GET", path: "/sa", xauth: "403", status: 403},
		{name: "any: allowed, no subrequest", method: "GET", path: "/sb", status: 200, body: "app GET /sb user="},
		{name: "all: denied, no subrequest", method: "GET", path: "/sc", xauth: "ok", status: 403},
		{name: "any: both challenges", method: "GET", path: "/ab", status: 401, www: `Basic realm="r"|Bearer realm="a"`},
		{name: "any: basic challenge, service forbids", method: "GET", path: "/ab", xauth: "403", status: 401, www: `Basic realm="r"`},
		{name: "any: login, no subrequest", method: "GET", path: "/ab", login: "bob:pw", status: 200, body: "app GET /ab user="},
		{name: "any: wrong login, service allows", method: "GET", path: "/ab", login: "bob:x", xauth: "ok", status: 200, body: "app GET /ab user="},
		// $args in the value is the subrequest's, empty
		{name: "$args set", method: "GET", path: "/args?a=1", xauth: "ok", status: 200, body: "app GET /args?x=alice& user="},
	}
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth.last()
			var body io.Reader
			if tt.method == "PUT" {
				body = strings.NewReader("data")
			}
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.xauth != "" {
				req.Header.Set("X-Auth", tt.xauth)
			}
			if user, pass, ok := strings.Cut(tt.login, ":"); ok {
				req.SetBasicAuth(user, pass)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, got)
			}
			if tt.body != "" && !strings.HasPrefix(string(got), tt.body) {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if tt.asked != "" {
				if a := auth.last(); a != tt.asked {
					t.Errorf("the service was asked %q, want %q", a, tt.asked)
				}
			}
			if w := strings.Join(resp.Header.Values("WWW-Authenticate"), "|"); w != tt.www && tt.status != 200 {
				t.Errorf("WWW-Authenticate %q, want %q", w, tt.www)
			}
			if tt.xv != "" && resp.Header.Get("X-V") != tt.xv {
				t.Errorf("X-V %q, want %q", resp.Header.Get("X-V"), tt.xv)
			}
			if tt.location != "" && !strings.HasSuffix(resp.Header.Get("Location"), tt.location) {
				t.Errorf("Location %q, want ...%q", resp.Header.Get("Location"), tt.location)
			}
			if tt.log != "" {
				waitForLog(t, filepath.Join(dir, "error.log"), tt.log)
			}
		})
	}
	// The access log shows the main request's upstream only, and the
	// variable auth_request_set assigned (not found where no subrequest ran).
	wantLog := []string{"/foo?a=1 200 [200] [alice]", "/foo 401 [-] [alice]", "/off 200 [200] [-]"}
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		missing := ""
		for _, w := range wantLog {
			if !strings.Contains(string(b), w+"\n") {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log has no %q:\n%s", missing, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAuthRequestSetErrors: auth_request_set's value is compiled and its
// variable defined when the configuration loads, with or without
// auth_request, as nginx -t does: an unknown variable in the value or a
// built-in name nginx does not let change fails with the file and line;
// $args, $limit_rate and a name set also assigns are accepted.
func TestAuthRequestSetErrors(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"unknown variable", "auth_request_set $u $nosuch;", `unknown "nosuch" variable in `},
		{"unknown variable, auth_request on", "auth_request /a; auth_request_set $u x$nosuch;", `unknown "nosuch" variable in `},
		{"built-in", "location / { auth_request_set $uri x; }", `the duplicate "uri" variable in `},
		{"changeable built-ins", "auth_request /a; auth_request_set $args a=1; auth_request_set $limit_rate 1k;", ""},
		{"shared with set", "auth_request /a; auth_request_set $u $upstream_status; location / { set $u x; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkServerLine(t, tt.conf, tt.want) })
	}
}

// checkServerLine writes conf as the fourth line of a server block, loads
// it and runs daemon.Check (what compiles variables): want "" expects no
// error, else an error containing want followed by the file and ":4".
func checkServerLine(t *testing.T, conf, want string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	text := "http {\n server {\n  listen 127.0.0.1:0;\n  " + conf + "\n }\n}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = daemon.Check(cfg)
	switch {
	case want == "" && err != nil:
		t.Errorf("Check: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want+path+":4")):
		t.Errorf("Check: %v, want %q at %s:4", err, want, path)
	}
}
