package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// accessConf is the configuration of TestAccessRules, with the backend's address
// for %s. Every answer was checked against nginx 1.22 with the same locations
// (backend and clients on 127.0.0.1 and 127.0.0.2, the second server on
// 127.0.0.2).
const accessConf = `
events {}
http {
    log_format st '$remote_addr $status "$request"';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0;
        root %%DIR%%/html;

        location /first/ {
            deny 127.0.0.2;
            allow 127.0.0.0/8;
            deny all;
            proxy_pass http://%[1]s;
        }
        location /outer/ {
            deny 127.0.0.2;
            proxy_pass http://%[1]s;
            location /outer/inherit/ { proxy_pass http://%[1]s; }
            location /outer/replace/ { allow 127.0.0.9; proxy_pass http://%[1]s; }
        }
        location /ret/ {
            deny all;
            return 200 "returned\n";
        }
        location /proxy/ {
            deny all;
            proxy_pass http://%[1]s;
        }
        location /static/ {
            deny all;
        }
        location /tried/ {
            deny all;
            try_files $uri /first/fallback;
        }
        location /page/ {
            deny all;
            error_page 403 /forbidden.html;
            proxy_pass http://%[1]s;
        }
        location = /forbidden.html {
            return 200 "custom forbidden page\n";
        }
        location /page-denied/ {
            deny all;
            error_page 403 /page-denied/forbidden.html;
        }
        location /slash/ {
            deny all;
            proxy_pass http://%[1]s;
        }
    }
    server {
        listen 127.0.0.2:0;
        deny all;
        location /open/ { allow all; proxy_pass http://%[1]s; }
        location /ret/ { return 200 "returned\n"; }
        location /closed/ { proxy_pass http://%[1]s; }
    }
}`

func TestAccessRules(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startBackend(t, "app")
	in := startFulcrum(t, fmt.Sprintf(accessConf, b.addr()), 2)
	writeFiles(t, in.dir, map[string]string{"html/static/secret.txt": "secret\n"})
	main, other := in.urlOn("127.0.0.1"), in.urlOn("127.0.0.2")
	tests := []struct {
		name, client, url string
		wantStatus        int
		wantBody          string // a prefix of the body; "" to skip
		reachesBackend    bool
	}{
		{"first match: denied address", "127.0.0.2", main + "/first/", 403, "<html>", false},
		{"first match: allowed network", "127.0.0.1", main + "/first/", 200, "app GET /first/", true},
		{"parent rules apply", "127.0.0.2", main + "/outer/", 403, "", false},
		{"parent rules allow others", "127.0.0.1", main + "/outer/", 200, "app GET /outer/", true},
		{"nested location inherits", "127.0.0.2", main + "/outer/inherit/", 403, "", false},
		{"nested location replaces", "127.0.0.2", main + "/outer/replace/", 200, "app GET /outer/replace/", true},
		{"return runs before access", "127.0.0.1", main + "/ret/", 200, "returned\n", false},
		{"denied before the proxy", "127.0.0.1", main + "/proxy/", 403, "", false},
		{"denied before the file system", "127.0.0.1", main + "/static/secret.txt", 403, "<html>", false},
		{"denied before try_files", "127.0.0.1", main + "/tried/x", 403, "", false},
		{"error_page 403", "127.0.0.1", main + "/page/", 403, "custom forbidden page\n", false},
		{"error page denied too", "127.0.0.1", main + "/page-denied/", 403, "<html>", false},
		{"slash redirect comes first", "127.0.0.1", main + "/slash", 301, "", false},
		{"server rules: inherited", "127.0.0.1", other + "/closed/", 403, "", false},
		{"server rules: replaced", "127.0.0.1", other + "/open/", 200, "app GET /open/", true},
		{"server rules: return first", "127.0.0.1", other + "/ret/", 200, "returned\n", false},
		{"server rules: no location", "127.0.0.1", other + "/nowhere", 403, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.hitCount()
			status, body := get(t, clientFrom(tt.client), tt.url)
			if status != tt.wantStatus || !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("GET %s from %s: %d %q, want %d %q...", tt.url, tt.client, status, body, tt.wantStatus, tt.wantBody)
			}
			if hit := b.hitCount() > before; hit != tt.reachesBackend {
				t.Errorf("GET %s from %s reached the backend: %t, want %t", tt.url, tt.client, hit, tt.reachesBackend)
			}
		})
	}

	// A denied request with a body gets its 403 without the backend seeing it,
	// and the connection stays usable, as with nginx.
	t.Run("post", func(t *testing.T) {
		before := b.hitCount()
		resp, body, closed, c, br := exchange(t, strings.TrimPrefix(main, "http://"),
			"POST /proxy/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"+
				"GET /first/again HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp == nil || resp.StatusCode != 403 || closed {
			t.Fatalf("POST: %v (closed %t) %q, want 403 on an open connection", resp, closed, body)
		}
		defer c.Close()
		next, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("the request after the denied POST: %v", err)
		}
		got, _ := io.ReadAll(next.Body)
		next.Body.Close()
		if next.StatusCode != 200 || !strings.HasPrefix(string(got), "app GET /first/again") || b.hitCount() != before+1 {
			t.Errorf("after the denied POST: %d %q, backend hits %d, want 200 from the backend, one hit", next.StatusCode, got, b.hitCount()-before)
		}
	})

	// The error log has nginx's line at level error, once per refusal: twice
	// when the error page is refused too.
	waitFor(t, "the error log line", func() bool {
		return countLines(in.logLines(), `[error] `) > 0 &&
			countLines(in.logLines(), `access forbidden by rule, client: 127.0.0.2, server: , request: "GET /first/ HTTP/1.1", host: "`) == 1
	})
	for _, l := range in.logLines() {
		if strings.Contains(l, "access forbidden by rule") && !strings.Contains(l, "[error] ") {
			t.Errorf("not at level error: %s", l)
		}
	}
	if n := countLines(in.logLines(), `access forbidden by rule, client: 127.0.0.1, server: , request: "GET /page-denied/ HTTP/1.1"`); n != 2 {
		t.Errorf("the refused error page logged %d lines, want 2", n)
	}
	// The access log says 403 for refused requests, 200 for a return.
	lines := waitLines(t, filepath.Join(in.dir, "access.log"), len(tests)+1)
	for want, n := range map[string]int{`127.0.0.2 403 "GET /first/ HTTP/1.1"`: 1, `127.0.0.1 403 "GET /page/ HTTP/1.1"`: 1,
		`127.0.0.1 200 "GET /ret/ HTTP/1.1"`: 2, `127.0.0.1 403 "POST /proxy/ HTTP/1.1"`: 1} {
		if got := countLines(lines, want); got != n {
			t.Errorf("access log has %d lines %q, want %d:\n%s", got, want, n, strings.Join(lines, "\n"))
		}
	}
}

// urlOn returns http://ADDR for the listener on the IP address ip (listeners
// are reported in no fixed order).
func (in *instance) urlOn(ip string) string {
	for _, a := range in.listening() {
		if strings.HasPrefix(a, ip+":") {
			return "http://" + a
		}
	}
	in.t.Fatalf("no listener on %s: %v", ip, in.listening())
	return ""
}

// countLines counts the lines that contain s.
func countLines(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// TestAccessRulesAfterRealIP: the rules see the address set_real_ip_from and
// real_ip_header give, not the peer's (nginx 1.22: a trusted peer sending
// X-Real-IP: 10.0.0.1 is refused by "deny 10.0.0.1", an untrusted one is not,
// and the log names 10.0.0.1).
func TestAccessRulesAfterRealIP(t *testing.T) {
	b := startBackend(t, "app")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        set_real_ip_from 127.0.0.3;
        location / {
            deny 10.0.0.1;
            proxy_pass http://%s;
        }
    }
}`, b.addr()), 1)
	tests := []struct {
		name, client, realIP string
		want                 int
	}{
		{"trusted peer, denied address", "127.0.0.3", "10.0.0.1", 403},
		{"trusted peer, other address", "127.0.0.3", "10.0.0.2", 200},
		{"untrusted peer", "127.0.0.1", "10.0.0.1", 200},
		{"trusted peer, mapped address", "127.0.0.3", "::ffff:10.0.0.1", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := get(t, clientFrom(tt.client), in.url(0)+"/x", "X-Real-IP", tt.realIP); status != tt.want {
				t.Errorf("status %d %q, want %d", status, body, tt.want)
			}
		})
	}
	waitFor(t, "the error log line", func() bool {
		return in.logged(`access forbidden by rule, client: 10.0.0.1, server: , request: "GET /x HTTP/1.1"`)
	})
}

// TestAccessRulesConfigTest checks `fulcrum -t` on allow and deny lines against
// what nginx -t says of them.
func TestAccessRulesConfigTest(t *testing.T) {
	conf := func(rule string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location / {\n            " + rule + "\n        }\n    }\n}\n"
	}
	tests := []struct {
		rule, want string
		code       int
	}{
		{"allow;", `fulcrum: [emerg] invalid number of arguments in "allow" directive in %s:6`, 1},
		{"deny 10.0.0.1 10.0.0.2;", `fulcrum: [emerg] invalid number of arguments in "deny" directive in %s:6`, 1},
		{"deny foo;", `fulcrum: [emerg] invalid parameter "foo" in %s:6`, 1},
		{"allow 10.0.0.0/33;", `fulcrum: [emerg] invalid parameter "10.0.0.0/33" in %s:6`, 1},
		{"deny 255.255.255.255;", `fulcrum: [emerg] invalid parameter "255.255.255.255" in %s:6`, 1},
		{"allow 10.0.0.1/8;", `fulcrum: [warn] low address bits of 10.0.0.1/8 are meaningless in %s:6`, 0},
		{"deny 2001:db8::1/32;", `fulcrum: [warn] low address bits of 2001:db8::1/32 are meaningless in %s:6`, 0},
		{"allow unix:; deny all;", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf(tt.rule)})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if tt.want == "" {
				if r.stderr != okLines(path) {
					t.Errorf("stderr %q, want %q", r.stderr, okLines(path))
				}
				return
			}
			if want := fmt.Sprintf(tt.want, path); first != want && !strings.HasPrefix(first, want+", ") {
				t.Errorf("first line %q, want %q", first, want)
			}
		})
	}
}

// TestAccessRulesAfterLocationRealIP: set_real_ip_from in a location sets the
// address its rules see (nginx's realip runs in the preaccess phase too), but
// only when the server's own realip rule did not already set one: nginx
// changes the address once per request, and keeps it across internal
// redirects. Expected answers and log addresses from nginx 1.22.
func TestAccessRulesAfterLocationRealIP(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startBackend(t, "app")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format ra '$remote_addr $status $request_uri';
    access_log %%DIR%%/access.log ra buffer=0;
    server {
        listen 127.0.0.1:0;
        location /lr/ {
            set_real_ip_from 127.0.0.1;
            deny 10.0.0.1;
            proxy_pass http://%[1]s;
        }
    }
    server {
        listen 127.0.0.2:0;
        set_real_ip_from 127.0.0.1;
        location /once/ {
            set_real_ip_from 10.0.0.0/8;
            real_ip_header X-Forwarded-For;
            deny 192.0.2.9;
            proxy_pass http://%[1]s;
        }
        location /loc/ {
            set_real_ip_from 127.0.0.1;
            real_ip_header X-Forwarded-For;
            deny 192.0.2.9;
            error_page 403 = /ok;
        }
        location = /ok { return 200 "ok $remote_addr\n"; }
    }
}`, b.addr()), 2)
	client := clientFrom("127.0.0.1")
	tests := []struct {
		name, url string
		headers   []string
		want      int
		body      string
		logged    string
	}{
		{"location rule: denied", in.urlOn("127.0.0.1") + "/lr/", []string{"X-Real-IP", "10.0.0.1"}, 403, "", "10.0.0.1 403 /lr/"},
		{"location rule: allowed", in.urlOn("127.0.0.1") + "/lr/", []string{"X-Real-IP", "10.0.0.2"}, 200, "app GET /lr/", "10.0.0.2 200 /lr/"},
		{"server rule set it: location rule not applied", in.urlOn("127.0.0.2") + "/once/",
			[]string{"X-Real-IP", "10.0.0.5", "X-Forwarded-For", "192.0.2.9"}, 200, "app GET /once/", "10.0.0.5 200 /once/"},
		{"server rule found nothing: location rule applied", in.urlOn("127.0.0.2") + "/loc/",
			[]string{"X-Forwarded-For", "192.0.2.9"}, 200, "ok 192.0.2.9\n", "192.0.2.9 200 /loc/"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, client, tt.url, tt.headers...)
			if status != tt.want || !strings.HasPrefix(body, tt.body) {
				t.Errorf("GET %s: %d %q, want %d %q...", tt.url, status, body, tt.want, tt.body)
			}
			lines := waitLines(t, filepath.Join(in.dir, "access.log"), i+1)
			if lines[i] != tt.logged {
				t.Errorf("access log %q, want %q", lines[i], tt.logged)
			}
		})
	}
}
