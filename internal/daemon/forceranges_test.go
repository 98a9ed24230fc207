package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"
)

// forceBody is what forceBackend serves: 20 bytes, as in the nginx runs.
const forceBody = "0123456789abcdefghij"

// forceBackend is the backend of the nginx 1.22.1 runs TestForceRanges
// repeats, as an HTTP server and as a FastCGI application. A path
// /LOC/MODE/... answers forceBody as text/plain with ETag "e1" and a
// Last-Modified date; MODE "ar" adds "Accept-Ranges: bytes", "arnone"
// "Accept-Ranges: none", "chunked" has no Content-Length, "e404" is a 404,
// and "p206" answers a Range of one range itself (206, with
// "Accept-Ranges: bytes"). Every answer says in X-Got-Range the Range field
// the backend received ("None" for none), which nginx passes on, so the
// client's answer tells what went upstream.
func forceBackend(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	rng, ok := r.Header["Range"]
	got := "None"
	if ok {
		got = rng[0]
	}
	h.Set("X-Got-Range", got)
	h.Set("ETag", `"e1"`)
	h.Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
	h.Set("Content-Type", "text/plain")
	parts := strings.Split(r.URL.Path, "/")
	mode := ""
	if len(parts) > 2 {
		mode = parts[2]
	}
	status, body := http.StatusOK, forceBody
	switch mode {
	case "ar":
		h.Set("Accept-Ranges", "bytes")
	case "arnone":
		h.Set("Accept-Ranges", "none")
	case "e404":
		status = http.StatusNotFound
	case "chunked":
		io.WriteString(w, forceBody[:10])
		w.(http.Flusher).Flush()
		io.WriteString(w, forceBody[10:])
		return
	case "p206":
		h.Set("Accept-Ranges", "bytes")
		var from, to int
		if n, _ := fmt.Sscanf(got, "bytes=%d-%d", &from, &to); n == 2 && !strings.Contains(got, ",") {
			status, body = http.StatusPartialContent, forceBody[from:to+1]
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/20", from, to))
		}
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// forceConf holds the locations of TestForceRanges, those of the nginx
// runs; %[1]s is the cache directory, %[2]s the backend, %[3]s the FastCGI
// application.
const forceConf = `
    proxy_cache_path %[1]s/p keys_zone=p:1m;
    server {
        listen 127.0.0.1:0;
        location /off/ { proxy_pass http://%[2]s; }
        location /on/ { proxy_pass http://%[2]s; proxy_force_ranges on; }
        location /onnobuf/ { proxy_pass http://%[2]s; proxy_force_ranges on; proxy_buffering off; }
        location /onmax0/ { proxy_pass http://%[2]s; proxy_force_ranges on; max_ranges 0; }
        location /onmax1/ { proxy_pass http://%[2]s; proxy_force_ranges on; max_ranges 1; }
        location /onhide/ { proxy_pass http://%[2]s; proxy_force_ranges on; proxy_hide_header Accept-Ranges; }
        location /ongzip/ {
            proxy_pass http://%[2]s; proxy_force_ranges on;
            gzip on; gzip_min_length 1; gzip_types text/plain; gzip_proxied any;
        }
        location /oncache/ {
            proxy_pass http://%[2]s; proxy_force_ranges on;
            proxy_cache p; proxy_cache_valid 200 1m; add_header X-Cache $upstream_cache_status;
        }
        location /fcoff/ {
            fastcgi_pass %[3]s; fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_param REQUEST_URI $request_uri;
        }
        location /fcon/ {
            fastcgi_pass %[3]s; fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_param REQUEST_URI $request_uri;
            fastcgi_force_ranges on;
        }
    }
`

// forceStep is a request and nginx 1.22.1's answer to it with forceConf:
// the status, the fields (a value "-" is a field that must be missing;
// X-Got-Range is the Range the backend received) and the body ("" for any;
// multipart says it is a multipart/byteranges body).
type forceStep struct {
	method, path string
	header       map[string]string
	status       int
	fields       map[string]string
	body         string
	multipart    bool
}

func TestForceRanges(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(forceBackend)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fcgi.Serve(app, http.HandlerFunc(forceBackend))
	t.Cleanup(func() { app.Close() })
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, "pid "+dir+"/fulcrum.pid;\nerror_log "+dir+"/error.log notice;\nhttp {\n"+
		fmt.Sprintf(forceConf, dir, ln.Addr(), app.Addr())+"\n}\n")

	rng := func(v string) map[string]string { return map[string]string{"Range": v} }
	r25, two := rng("bytes=2-5"), rng("bytes=0-1,4-5")
	// cut is nginx's 206 of bytes 2-5: no Accept-Ranges, the upstream's
	// validators kept, the Range passed upstream.
	cut := map[string]string{"Content-Range": "bytes 2-5/20", "Content-Length": "4", "Accept-Ranges": "-",
		"Etag": `"e1"`, "X-Got-Range": "bytes=2-5"}
	// whole is the 200 the range filter declined to cut: its own
	// Accept-Ranges; bare one it did not run on.
	whole := map[string]string{"Accept-Ranges": "bytes", "Content-Length": "20", "Content-Range": "-"}
	bare := map[string]string{"Accept-Ranges": "-", "Content-Length": "20", "Content-Range": "-"}
	// unsat is nginx's 416: its own page, the upstream's other fields,
	// without its validators.
	unsat := map[string]string{"Content-Range": "bytes */20", "Content-Type": "text/html", "Etag": "-",
		"Last-Modified": "-", "Accept-Ranges": "-"}
	tests := []struct {
		name  string
		steps []forceStep
	}{
		{"off: every answer passes as the upstream gave it, the Range going upstream", []forceStep{
			{path: "/off/plain/x", header: r25, status: 200, fields: with(bare, "X-Got-Range", "bytes=2-5"), body: forceBody},
			{path: "/off/ar/x", header: r25, status: 200, fields: with(whole, "X-Got-Range", "bytes=2-5"), body: forceBody},
			{path: "/off/arnone/x", header: r25, status: 200, fields: map[string]string{"Accept-Ranges": "none"}, body: forceBody},
			{path: "/off/p206/x", header: r25, status: 206, fields: with(cut, "Accept-Ranges", "bytes"), body: "2345"},
			{path: "/off/plain/x", header: rng("bytes=30-40"), status: 200, fields: bare, body: forceBody},
			{path: "/off/plain/x", header: two, status: 200, fields: bare, body: forceBody},
		}},
		{"on: a 200 is cut whatever its Accept-Ranges, which is dropped", []forceStep{
			{path: "/on/plain/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/on/ar/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/on/arnone/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/on/plain/x", header: rng("bytes=-3"), status: 206, fields: map[string]string{"Content-Range": "bytes 17-19/20"}, body: "hij"},
			{path: "/on/plain/x", header: rng("bytes=2-100"), status: 206,
				fields: map[string]string{"Content-Range": "bytes 2-19/20", "Content-Length": "18"}, body: forceBody[2:]},
		}},
		{"on: without a Range the filter's own Accept-Ranges replaces the upstream's", []forceStep{
			{path: "/on/plain/x", status: 200, fields: with(whole, "X-Got-Range", "None"), body: forceBody},
			{path: "/on/arnone/x", status: 200, fields: whole, body: forceBody},
		}},
		{"on: the upstream's 206, 404 and chunked 200 pass, without Accept-Ranges", []forceStep{
			{path: "/on/p206/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/on/p206/x", header: two, status: 200, fields: with(whole, "X-Got-Range", "bytes=0-1,4-5"), body: forceBody},
			{path: "/on/e404/x", header: r25, status: 404, fields: bare, body: forceBody},
			{path: "/on/chunked/x", header: r25, status: 200, fields: map[string]string{"Accept-Ranges": "-", "Content-Length": "-"}, body: forceBody},
			{path: "/on/chunked/x", status: 200, fields: map[string]string{"Accept-Ranges": "-", "Content-Length": "-"}, body: forceBody},
		}},
		{"on: one range at most, 416, other units", []forceStep{
			{path: "/on/plain/x", header: two, status: 200, fields: whole, body: forceBody},
			{path: "/on/plain/x", header: rng("bytes=30-40"), status: 416, fields: with(unsat, "X-Got-Range", "bytes=30-40")},
			{path: "/on/plain/x", header: rng("bytes=5-2"), status: 416, fields: unsat},
			{path: "/on/plain/x", header: rng("items=2-5"), status: 200, fields: whole, body: forceBody},
		}},
		{"on: If-Range against the upstream's ETag and Last-Modified", []forceStep{
			{path: "/on/plain/x", header: map[string]string{"Range": "bytes=2-5", "If-Range": `"e1"`}, status: 206, fields: cut, body: "2345"},
			{path: "/on/plain/x", header: map[string]string{"Range": "bytes=2-5", "If-Range": `"e2"`}, status: 200, fields: whole, body: forceBody},
			{path: "/on/plain/x", header: map[string]string{"Range": "bytes=2-5", "If-Range": "Mon, 01 Jan 2024 00:00:00 GMT"}, status: 206, fields: cut, body: "2345"},
			{path: "/on/plain/x", header: map[string]string{"Range": "bytes=2-5", "If-Range": "Mon, 01 Jan 2024 00:00:01 GMT"}, status: 200, fields: whole, body: forceBody},
		}},
		{"on: HEAD", []forceStep{
			{method: "HEAD", path: "/on/plain/x", header: r25, status: 206, fields: cut},
			{method: "HEAD", path: "/on/plain/x", header: rng("bytes=30-"), status: 416, fields: unsat},
		}},
		{"on with proxy_buffering off, max_ranges, proxy_hide_header, gzip", []forceStep{
			{path: "/onnobuf/plain/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/onnobuf/plain/x", header: two, status: 200, fields: whole, body: forceBody},
			{path: "/onnobuf/plain/x", header: rng("bytes=30-40"), status: 416, fields: unsat},
			{path: "/onmax0/ar/x", header: r25, status: 200, fields: bare, body: forceBody},
			{path: "/onmax0/ar/x", status: 200, fields: bare, body: forceBody},
			{path: "/onmax1/plain/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/onmax1/plain/x", header: two, status: 200, fields: whole, body: forceBody},
			{path: "/onhide/ar/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/onhide/ar/x", status: 200, fields: whole, body: forceBody},
			{path: "/ongzip/plain/x", header: map[string]string{"Range": "bytes=2-5", "Accept-Encoding": "gzip"}, status: 200,
				fields: map[string]string{"Content-Encoding": "gzip", "Etag": `W/"e1"`, "Accept-Ranges": "-", "Content-Range": "-", "Content-Length": "-"}},
			{path: "/ongzip/plain/x", header: r25, status: 206, fields: cut, body: "2345"},
		}},
		{"on with a cache: one range on the MISS, several on the HIT, no Range upstream", []forceStep{
			{path: "/oncache/plain/m", header: two, status: 200, fields: with(whole, "X-Cache", "MISS", "X-Got-Range", "None"), body: forceBody},
			{path: "/oncache/plain/m", header: two, status: 206, multipart: true,
				fields: map[string]string{"X-Cache": "HIT", "Content-Length": "198", "Accept-Ranges": "-"}},
			{path: "/oncache/plain/s", header: r25, status: 206, fields: with(cut, "X-Cache", "MISS", "X-Got-Range", "None"), body: "2345"},
			{path: "/oncache/plain/s", header: r25, status: 206, fields: with(cut, "X-Cache", "HIT", "X-Got-Range", "None"), body: "2345"},
		}},
		{"fastcgi_force_ranges off and on", []forceStep{
			{path: "/fcoff/plain/x", header: r25, status: 200, fields: with(bare, "X-Got-Range", "bytes=2-5"), body: forceBody},
			{path: "/fcoff/ar/x", header: r25, status: 200, fields: whole, body: forceBody},
			{path: "/fcon/plain/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/fcon/ar/x", header: r25, status: 206, fields: cut, body: "2345"},
			{path: "/fcon/ar/x", status: 200, fields: whole, body: forceBody},
			{path: "/fcon/plain/x", header: two, status: 200, fields: whole, body: forceBody},
			{path: "/fcon/plain/x", header: rng("bytes=30-"), status: 416, fields: unsat},
			{path: "/fcon/chunked/x", header: r25, status: 200, fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "-"}, body: forceBody},
			{method: "HEAD", path: "/fcon/plain/x", header: r25, status: 206, fields: cut},
		}},
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range tc.steps {
				checkForceStep(t, client, addr, i, s)
			}
		})
	}
}

// with is a copy of m with the pairs kv (key, value, ...) set.
func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// checkForceStep sends s and checks the answer.
func checkForceStep(t *testing.T, client *http.Client, addr string, i int, s forceStep) {
	t.Helper()
	method, resp, body := sendStep(t, client, addr, s.method, s.path, s.header)
	if resp.StatusCode != s.status {
		t.Fatalf("step %d %s %s %v: status %d, want %d", i, method, s.path, s.header, resp.StatusCode, s.status)
	}
	for k, want := range s.fields {
		v, ok := resp.Header[k]
		if k == "Content-Length" && resp.ContentLength >= 0 && method != http.MethodHead {
			v, ok = []string{fmt.Sprint(resp.ContentLength)}, true
		}
		if want == "-" && ok || want != "-" && (!ok || len(v) != 1 || v[0] != want) {
			t.Errorf("step %d %s %s %v: %s = %q, want %q", i, method, s.path, s.header, k, v, want)
		}
	}
	if s.body != "" && string(body) != s.body {
		t.Errorf("step %d %s %v: body %q, want %q", i, s.path, s.header, body, s.body)
	}
	if method == http.MethodHead && len(body) != 0 {
		t.Errorf("step %d %s: a body for HEAD", i, s.path)
	}
	if s.multipart && !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges; boundary=") {
		t.Errorf("step %d %s: Content-Type %q, want multipart/byteranges", i, s.path, resp.Header.Get("Content-Type"))
	}
}
