package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTP2AuthorityHost: over HTTP/2, $http_host is the request's
// :authority, as nginx 1.22.1 makes a Host field of it, so the common
// "proxy_set_header Host $http_host;" sends it upstream (recorded with
// curl --http2: the backend got "Host: a.test:PORT", and "zz.test" for
// -H "Host: zz.test", which curl sends as :authority). fulcrum's was
// empty and the backend got no Host field at all.
func TestHTTP2AuthorityHost(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%q", r.Host)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server {
        listen 127.0.0.1:0 ssl http2; %s
        location /p { proxy_pass http://%s; proxy_set_header Host $http_host; }
        location /v { return 200 "http_host=[$http_host]"; }
    }`, certs, backend.Listener.Addr()))
	c := h2Client(t, addr, pool, false)
	for _, tt := range []struct{ path, host, want string }{
		{"/v", "", "http_host=[a.test]"},
		{"/v", "zz.test", "http_host=[zz.test]"},
		{"/p", "", `host="a.test"`},
		{"/p", "zz.test:8443", `host="zz.test:8443"`},
	} {
		req, err := http.NewRequest(http.MethodGet, "https://a.test"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body [256]byte
		n, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(body[:n]) != tt.want {
			t.Errorf("%s Host %q: %s %q, want HTTP/2 and %q", tt.path, tt.host, resp.Proto, body[:n], tt.want)
		}
	}
}
