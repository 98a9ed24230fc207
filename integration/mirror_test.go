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
	"time"
)

// mirrorConf shadows the traffic of a site to a test backend (APP and
// SHADOW are the backends' addresses). nginx 1.22.1 with the same
// configuration sent the backends what the test expects.
const mirrorConf = `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / {
            mirror /shadow;
            proxy_pass http://APP;
        }
        location /static/ { mirror off; proxy_pass http://APP; }
        location = /shadow {
            internal;
            proxy_read_timeout 2s;
            proxy_set_header X-Mirrored yes;
            proxy_pass http://SHADOW$request_uri;
        }
    }
}
`

func TestMirrorShadowTraffic(t *testing.T) {
	var mu sync.Mutex
	var shadowed []string
	shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		shadowed = append(shadowed, fmt.Sprintf("%s %s mirrored=%s body=%s", r.Method, r.RequestURI, r.Header.Get("X-Mirrored"), body))
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError) // discarded
	}))
	t.Cleanup(shadow.Close)
	app := startBackend(t, "app")
	conf := strings.NewReplacer("APP", app.addr(), "SHADOW", strings.TrimPrefix(shadow.URL, "http://")).Replace(mirrorConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	tests := []struct {
		name, method, target, extra, body string
		want, shadowed                    string // a line of the answer; what the shadow got ("" nothing)
	}{
		{"GET", "GET", "/page?x=1", "", "", "app GET /page?x=1", "GET /page?x=1 mirrored=yes body="},
		{"chunked POST", "POST", "/form", "Transfer-Encoding: chunked\r\n", "7\r\nfoo=bar\r\n0\r\n\r\n", "body: foo=bar", "POST /form mirrored=yes body=foo=bar"},
		{"mirror off", "GET", "/static/a.css", "", "", "app GET /static/a.css", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			shadowed = nil
			mu.Unlock()
			status, lines, body := rawExchange(t, addr, tt.method, tt.target, tt.extra, tt.body)
			if status != 200 {
				t.Fatalf("%s %s: %d, want 200 whatever the shadow answers (%s)", tt.method, tt.target, status, body)
			}
			all := append(lines, strings.Split(body, "\n")...)
			if !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, tt.want) }) {
				t.Errorf("no %q in %q", tt.want, all)
			}
			// rawExchange read until fulcrum closed the connection, which
			// it does once the mirror is done.
			var got []string
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				got = slices.Clone(shadowed)
				mu.Unlock()
				if len(got) > 0 || tt.shadowed == "" || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			want := []string{}
			if tt.shadowed != "" {
				want = []string{tt.shadowed}
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("the shadow got %q, want %q", got, want)
			}
		})
	}
}
