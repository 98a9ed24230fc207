package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestProxyCookies runs proxy_cookie_domain, proxy_cookie_path and
// proxy_cookie_flags in the real binary against a backend that sends the
// Set-Cookie fields named in its query. The answers are nginx 1.22.1's for
// the same configuration and fields: each directive inherited on its own
// from the nearest level that has any, "off" cancelling it, variables and
// regex captures in replacements, several fields per response.
func TestProxyCookies(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range r.URL.Query()["c"] {
			w.Header().Add("Set-Cookie", c)
		}
		w.Write([]byte("ok\n"))
	}))
	t.Cleanup(backend.Close)
	addr := strings.TrimPrefix(backend.URL, "http://")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    proxy_cookie_domain ~(?<sub>\w+)\.backend\.internal $sub.$host;
    proxy_cookie_flags ~^sess secure httponly;
    server {
        listen 127.0.0.1:0;
        proxy_cookie_path /app/ /;
        location / {
            proxy_pass http://%[1]s;
        }
        location /api/ {
            proxy_pass http://%[1]s;
            proxy_cookie_domain .backend.internal .example.com;
            proxy_cookie_path ~*^/API/(.*)$ /api/$1;
            proxy_cookie_flags $arg_name $arg_flag samesite=lax;
            proxy_cookie_flags off nosecure;
        }
        location /off/ {
            proxy_pass http://%[1]s;
            proxy_cookie_domain off;
            proxy_cookie_flags off;
        }
    }
}`, addr), 1)
	base := in.url(0)
	tests := []struct {
		name, path string
		cookies    []string
		want       []string
	}{
		{"inherited from http and server", "/x", []string{
			"session=1; Domain=www.backend.internal; Path=/app/cart",
			"other=2;  Path=/elsewhere ; Secure",
			"SESSION_B=3; secure; SameSite=Lax",
		}, []string{
			"session=1; Domain=www.app.test; Path=/cart; Secure; HttpOnly",
			"other=2;  Path=/elsewhere ; Secure",
			"SESSION_B=3; secure; SameSite=Lax; HttpOnly",
		}},
		{"the location's own rules", "/api/x?name=ID&flag=HttpOnly", []string{
			"id=1; Domain=.BACKEND.internal; Path=/Api/v1",
			"session=2; Domain=www.backend.internal; Path=/app/",
			"off=3; Secure; SameSite=Strict",
		}, []string{
			"id=1; Domain=.example.com; Path=/api/v1; HttpOnly; SameSite=Lax",
			"session=2; Domain=www.backend.internal; Path=/app/",
			"off=3; SameSite=Strict",
		}},
		{"off cancels what the location would inherit", "/off/x", []string{
			"session=1; Domain=www.backend.internal; Path=/app/x",
		}, []string{
			"session=1; Domain=www.backend.internal; Path=/x",
		}},
		{"a field without a cookie value is left alone", "/x", []string{
			"session; Domain=www.backend.internal",
		}, []string{
			"session; Domain=www.backend.internal",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			for _, c := range tt.cookies {
				q.Add("c", c)
			}
			u.RawQuery = q.Encode()
			req, _ := http.NewRequest("GET", u.String(), nil)
			req.Host = "app.test"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, tt.want) {
				t.Errorf("Set-Cookie\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestProxyCookiesConfigTest: fulcrum -t refuses what nginx -t refuses, with
// nginx's words and the file and line.
func TestProxyCookiesConfigTest(t *testing.T) {
	tests := []struct {
		name, directives, emerg string
	}{
		{"off after a rule", "proxy_cookie_path /a/ /b/;\n        proxy_cookie_path off;",
			`"proxy_cookie_path" directive is duplicate in %s/fulcrum.conf:7`},
		{"flags without a flag", "proxy_cookie_flags session;", `invalid parameter "session" in %s/fulcrum.conf:6`},
		{"unknown variable", "proxy_cookie_flags session $nope;", `unknown "nope" variable in %s/fulcrum.conf:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := "events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        location / { proxy_pass http://127.0.0.1:9; }\n        " + tt.directives + "\n    }\n}\n"
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			r := runFulcrum(t, "-t", "-c", filepath.Join(dir, "fulcrum.conf"))
			want := "fulcrum: [emerg] " + strings.ReplaceAll(tt.emerg, "%s", dir)
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
}
