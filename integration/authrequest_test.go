package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// authRequestConf is the single sign-on pattern of oauth2-proxy and
// Authelia (APP and AUTH are the backends' addresses). nginx 1.22.1 with
// the same configuration answered as the test expects.
const authRequestConf = `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / {
            auth_request /oauth2/auth;
            error_page 401 = /oauth2/sign_in;
            auth_request_set $user $upstream_http_x_auth_request_user;
            proxy_set_header X-User $user;
            proxy_pass http://APP;
        }
        location /api/ {
            auth_request /oauth2/auth;
            proxy_pass http://APP;
        }
        location = /oauth2/auth {
            internal;
            proxy_pass http://AUTH;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
        }
        location /oauth2/ { proxy_pass http://AUTH; }
    }
}
`

func TestAuthRequestSSO(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	var mu sync.Mutex
	var asked []string
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		asked = append(asked, fmt.Sprintf("%s %s uri=%s body=%d", r.Method, r.URL.Path, r.Header.Get("X-Original-URI"), len(body)))
		mu.Unlock()
		switch {
		case r.URL.Path == "/oauth2/sign_in":
			fmt.Fprint(w, "sign in")
		case strings.Contains(r.Header.Get("Cookie"), "session=good"):
			w.Header().Set("X-Auth-Request-User", "alice")
		default:
			w.Header()["WWW-Authenticate"] = []string{`Bearer realm="sso"`} // as spelled here
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "no session")
		}
	}))
	t.Cleanup(auth.Close)
	app := startBackend(t, "app")
	conf := strings.NewReplacer("APP", app.addr(), "AUTH", strings.TrimPrefix(auth.URL, "http://")).Replace(authRequestConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	good := "Cookie: session=good\r\n"
	tests := []struct {
		name, method, target, extra, body string
		status                            int
		// want are lines the answer's head or body has; asked is what the
		// service was asked ("" for nothing).
		want  []string
		asked string
	}{
		{"signed in", "GET", "/page?x=1", good, "", 200, []string{"app GET /page?x=1", "x-user: alice"}, "GET /oauth2/auth uri=/page?x=1 body=0"},
		{"signed in, POST", "POST", "/form", good + "Content-Length: 7\r\n", "foo=bar", 200, []string{"app POST /form", "body: foo=bar"}, "GET /oauth2/auth uri=/form body=0"},
		{"no session: sign-in page", "GET", "/page", "", "", 200, []string{"sign in"}, "GET /oauth2/sign_in uri= body=0"},
		{"no session: 401 with the challenge", "GET", "/api/x", "", "", 401, []string{`WWW-Authenticate: Bearer realm="sso"`}, "GET /oauth2/auth uri=/api/x body=0"},
		{"the auth location is internal", "GET", "/oauth2/auth", good, "", 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			asked = nil
			mu.Unlock()
			status, lines, body := rawExchange(t, addr, tt.method, tt.target, tt.extra, tt.body)
			if status != tt.status {
				t.Fatalf("%s %s: %d, want %d (%s)", tt.method, tt.target, status, tt.status, body)
			}
			all := append(lines, strings.Split(body, "\n")...)
			for _, w := range tt.want {
				if !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, w) }) {
					t.Errorf("no %q in %q", w, all)
				}
			}
			mu.Lock()
			last := ""
			if len(asked) > 0 {
				last = asked[len(asked)-1]
			}
			mu.Unlock()
			if last != tt.asked {
				t.Errorf("the service was last asked %q, want %q", last, tt.asked)
			}
		})
	}
}

// TestAuthRequestErrorLines: the error lines of a request after its
// auth_request subrequest, as nginx 1.22.1 writes them (recorded): they
// never name the subrequest's upstream (fulcrum wrote `upstream:
// "http://AUTH/"`), and once the subrequest went to an upstream they end in
// nginx's action " while sending to client"; a subrequest a location
// answered itself leaves no action, and an internal redirect (a try_files
// fallback) clears it; a subrequest whose upstream failed sets it too. The
// proxy's line for a body that went to a temporary file has the action.
func TestAuthRequestErrorLines(t *testing.T) {
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(auth.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %%DIR%%;
        location = /lauth500 { internal; return 500; }
        location = /lauth200 { internal; return 200; }
        location = /pauth500 { internal; proxy_pass http://%[1]s/; }
        location = /pauth200 { internal; proxy_pass http://%[1]s/ok; }
        location /a/ { auth_request /lauth500; }
        location /b/ { auth_request /pauth500; }
        location /c/ { auth_request /lauth200; }
        location /d/ { auth_request /pauth200; }
        location /e/ { auth_request /pauth200; deny all; }
        location = /pauth200nobody { internal; proxy_pass http://%[1]s/ok; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
        location /m/ { auth_request /pauth200nobody; proxy_pass http://%[1]s/ok; }
        location = /dead { internal; proxy_pass http://127.0.0.1:1; }
        location /f/ { auth_request /dead; }
        location /g/ { auth_request /pauth200; try_files $uri /nonexist; }
    }
}`, strings.TrimPrefix(auth.URL, "http://")), 1)
	host := in.listening()[0]
	for _, path := range []string{"/a/x", "/b/x", "/c/x", "/d/x", "/e/x", "/f/x", "/g/x"} {
		rawGet(t, host, path, "")
	}
	rawExchange(t, host, "POST", "/m/x", "Content-Length: 70000\r\n", strings.Repeat("x", 70000))
	tail := `, client: 127.0.0.1, server: , request: "GET %s HTTP/1.1", host: "test"`
	want := []string{
		"auth request unexpected status: 500" + fmt.Sprintf(tail, "/a/x"),
		"auth request unexpected status: 500 while sending to client" + fmt.Sprintf(tail, "/b/x"),
		`/c/x" failed (2: No such file or directory)` + fmt.Sprintf(tail, "/c/x"),
		`/d/x" failed (2: No such file or directory) while sending to client` + fmt.Sprintf(tail, "/d/x"),
		"access forbidden by rule" + fmt.Sprintf(tail, "/e/x"),
		"0000000001 while sending to client" + strings.Replace(fmt.Sprintf(tail, "/m/x"), "GET", "POST", 1),
		// The subrequest's upstream failed: the action all the same.
		"auth request unexpected status: 502 while sending to client" + fmt.Sprintf(tail, "/f/x"),
		// A try_files fallback is an internal redirect: it clears it.
		`/nonexist" failed (2: No such file or directory)` + fmt.Sprintf(tail, "/g/x"),
	}
	for _, w := range want {
		waitFor(t, w, func() bool { return in.logged(w) })
	}
	if slices.ContainsFunc(in.logLines(), func(l string) bool { return strings.Contains(l, "upstream: ") && !strings.Contains(l, "subrequest: ") }) {
		t.Errorf("a line names the subrequest's upstream:\n%s", strings.Join(in.logLines(), "\n"))
	}
}
