package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRewriteModule runs the rewrite module through the real binary: server
// rewrites before location choice and location rewrites after, the flags,
// the "?" rule, a rewrite cycle, set used in proxy_set_header and return, and
// if with =, ~ (captures) and -f. The expected answers are nginx 1.22.1's to
// the same configuration (checked side by side with nginx-diff).
func TestRewriteModule(t *testing.T) {
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %%DIR%%/www;
        set $tier "server";
        rewrite ^/legacy/(.*)$ /api/$1;
        rewrite ^/moved/(.*)$ /api/$1 permanent;
        location /api/ {
            set $tier "api";
            proxy_set_header X-Tier $tier;
            proxy_set_header X-Uri $uri;
            proxy_pass http://%[1]s/v2/;
        }
        location /order/ {
            rewrite ^/order/(.*)$ /api/order-$1;
            rewrite ^/api/order-(\d+)$ /api/order/$1;
        }
        location /stay/ {
            rewrite ^/stay/(.*)$ /inner/$1 break;
            proxy_pass http://%[1]s/ignored/;
        }
        location /last/ { rewrite ^/last/(.*)$ /show/$1 last; }
        location /temp/ { rewrite ^/temp/(.*)$ /show/$1 redirect; }
        location /args/ { rewrite ^/args/(.*)$ /show/$1?page=1 last; }
        location /drop/ { rewrite ^/drop/(.*)$ /show/$1?page=1? last; }
        location /show/ { return 200 "show uri=$uri args=$args tier=$tier\n"; }
        location /ping { rewrite ^ /pong last; }
        location /pong { rewrite ^ /ping last; }
        location /who {
            set $greeting "hello $arg_name";
            return 200 "$greeting\n";
        }
        location /if/ {
            if ($http_x_mode = debug) { return 200 "debug\n"; }
            if ($uri ~ ^/if/item-(\d+)$) { return 200 "item $1\n"; }
            if (-f $document_root$uri) { return 200 "file $uri\n"; }
            return 404;
        }
    }
}`, b.addr()), 1)
	www := filepath.Join(in.dir, "www", "if")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "real.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	client := newClient()
	tests := []struct {
		name, path string
		headers    []string
		status     int
		want       string // the body's first line, or the Location of a redirect
		lines      []string
	}{
		{"server rewrite picks the location", "/legacy/users?id=7", nil, 200,
			"b GET /v2/users?id=7", []string{"x-tier: api", "x-uri: /api/users"}},
		{"server rewrite redirects", "/moved/users?id=7", nil, 301, "/api/users?id=7", nil},
		{"location rewrites without flag go on, then search again", "/order/42", nil, 200,
			"b GET /v2/order/42", []string{"x-tier: api"}},
		{"break keeps the location and passes the whole URI", "/stay/a%20b?q=1", nil, 200, "b GET /inner/a%20b?q=1", nil},
		{"last", "/last/x?k=1", nil, 200, "show uri=/show/x args=k=1 tier=server", nil},
		{"redirect", "/temp/x?k=1", nil, 302, "/show/x?k=1", nil},
		{"new arguments first", "/args/x?k=1", nil, 200, "show uri=/show/x args=page=1&k=1 tier=server", nil},
		{"a trailing ? drops the old ones", "/drop/x?k=1", nil, 200, "show uri=/show/x args=page=1 tier=server", nil},
		{"cycle", "/ping", nil, 500, "<html>", nil},
		{"set and return", "/who?name=ann", nil, 200, "hello ann", nil},
		{"if =", "/if/x", []string{"X-Mode", "debug"}, 200, "debug", nil},
		{"if ~ with captures", "/if/item-12", nil, 200, "item 12", nil},
		{"if -f", "/if/real.txt", nil, 200, "file /if/real.txt", nil},
		{"no condition holds", "/if/none.txt", nil, 404, "<html>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, in.url(0)+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(resp)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			got := strings.TrimSpace(firstLine(body))
			if tt.status == 301 || tt.status == 302 {
				got = strings.TrimPrefix(resp.Header.Get("Location"), in.url(0))
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, l := range tt.lines {
				if !strings.Contains(body, "\n"+l+"\n") {
					t.Errorf("backend headers lack %q:\n%s", l, body)
				}
			}
		})
	}
	waitFor(t, "the cycle's log line", func() bool {
		return in.logged(`rewrite or internal redirection cycle while processing "/pong"`)
	})
}
