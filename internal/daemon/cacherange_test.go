package daemon_test

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/fcgi"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rangeBody is what rangeBackend serves: 1000 bytes.
var rangeBody = strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 28)[:1000]

// rangeBackend serves rangeBody with an ETag, a Last-Modified date and
// "Cache-Control: max-age=600", as the python backend of the nginx runs
// did; a path with "noar" has no Accept-Ranges, one with "chunked" no
// Content-Length, one with "nostore" "Cache-Control: no-store", one with
// "/sNNN" status NNN (with the fields of a 200; a 206 has Content-Range
// "bytes 0-9/1000" and those bytes, a 416 "bytes */1000" and no body). It
// keeps the Range field of every request, per path.
type rangeBackend struct {
	mu     sync.Mutex
	ranges map[string][]string
}

func (b *rangeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.ranges[r.URL.Path] = append(b.ranges[r.URL.Path], r.Header.Get("Range"))
	b.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("ETag", `"abc"`)
	h.Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
	h.Set("Cache-Control", "max-age=600")
	if strings.Contains(r.URL.Path, "nostore") {
		h.Set("Cache-Control", "no-store")
	}
	if !strings.Contains(r.URL.Path, "noar") {
		h.Set("Accept-Ranges", "bytes")
	}
	if m := rangeStatus.FindStringSubmatch(r.URL.Path); m != nil {
		code, _ := strconv.Atoi(m[1])
		body := rangeBody
		switch code {
		case http.StatusPartialContent:
			body = rangeBody[:10]
			h.Set("Content-Range", "bytes 0-9/1000")
		case http.StatusRequestedRangeNotSatisfiable:
			body = ""
			h.Set("Content-Range", "bytes */1000")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		io.WriteString(w, body)
		return
	}
	if strings.Contains(r.URL.Path, "chunked") {
		io.WriteString(w, rangeBody[:10])
		w.(http.Flusher).Flush()
		io.WriteString(w, rangeBody[10:])
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(rangeBody)))
	io.WriteString(w, rangeBody)
}

// rangeStatus finds the status a rangeBackend path asks for.
var rangeStatus = regexp.MustCompile(`/s(\d{3})(?:/|$)`)

// got returns the Range fields the backend saw for path.
func (b *rangeBackend) got(path string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.ranges[path]...)
}

// rangeStep is a request and nginx 1.22.1's answer to it (observed with
// the same locations): the status, $upstream_cache_status, the fields
// (a value "-" is a field that must be missing) and the body; parts is a
// multipart body's Content-Range values, in order.
type rangeStep struct {
	method, path string
	header       map[string]string
	status       int
	xcache       string
	fields       map[string]string
	body         string
	parts        []string
	// upstream is the Range fields the backend saw for the path so far.
	upstream []string
}

// rangeConf holds the locations of TestCacheRanges; %[1]s is the cache
// directory, %[2]s the backend, %[3]s the FastCGI application.
const rangeConf = `
    proxy_cache_path %[1]s/p keys_zone=p:1m;
    fastcgi_cache_path %[1]s/f keys_zone=f:1m;
    add_header X-Cache $upstream_cache_status always;
    server {
        listen 127.0.0.1:0;
        proxy_cache p;
        location / { proxy_pass http://%[2]s; }
        location /bp/ { proxy_pass http://%[2]s; proxy_cache_bypass $arg_b; }
        location /nc/ { proxy_pass http://%[2]s; proxy_no_cache $arg_n; }
        location /gz/ { proxy_pass http://%[2]s; gzip on; gzip_types text/plain; gzip_min_length 1; }
        location /mr/ { proxy_pass http://%[2]s; max_ranges 1; }
        location /mr0/ { proxy_pass http://%[2]s; max_ranges 0; }
        location /mu/ { proxy_pass http://%[2]s; proxy_cache_min_uses 2; }
        location /hide/ { proxy_pass http://%[2]s; proxy_hide_header Accept-Ranges; }
        location /off/ { proxy_pass http://%[2]s; proxy_cache_max_range_offset 500; }
        location /none/ { proxy_pass http://%[2]s; proxy_cache off; }
        location /cgi/ {
            fastcgi_pass %[3]s; fastcgi_cache f; fastcgi_cache_key $uri;
            fastcgi_param REQUEST_URI $request_uri; fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            location /cgi/bp/ { fastcgi_pass %[3]s; fastcgi_cache_bypass $arg_b; }
            location /cgi/mu/ { fastcgi_pass %[3]s; fastcgi_cache_min_uses 2; }
        }
    }
`

func TestCacheRanges(t *testing.T) {
	b := &rangeBackend{ranges: map[string][]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: b}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go fcgi.Serve(app, b)
	t.Cleanup(func() { app.Close() })
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, "pid "+dir+"/fulcrum.pid;\nerror_log "+dir+"/error.log notice;\nhttp {\n"+
		fmt.Sprintf(rangeConf, dir, ln.Addr(), app.Addr())+"\n}\n")
	r09 := map[string]string{"Range": "bytes=0-9"}
	two := map[string]string{"Range": "bytes=0-9,20-29"}
	single := map[string]string{"Content-Range": "bytes 0-9/1000", "Content-Length": "10", "Accept-Ranges": "-", "Etag": `"abc"`}
	whole := map[string]string{"Accept-Ranges": "bytes", "Content-Length": "1000", "Content-Range": "-"}
	bare := map[string]string{"Accept-Ranges": "-", "Content-Length": "1000", "Content-Range": "-"}
	multi := []string{"bytes 0-9/1000", "bytes 20-29/1000"}
	tests := []struct {
		name  string
		steps []rangeStep
	}{
		{"one range: 206 on the MISS and the HIT, no Range upstream", []rangeStep{
			{path: "/a", header: r09, status: 206, xcache: "MISS", fields: single, body: rangeBody[:10], upstream: []string{""}},
			{path: "/a", header: r09, status: 206, xcache: "HIT", fields: single, body: rangeBody[:10], upstream: []string{""}},
			{path: "/a", header: map[string]string{"Range": "bytes=-5"}, status: 206, xcache: "HIT",
				fields: map[string]string{"Content-Range": "bytes 995-999/1000"}, body: rangeBody[995:]},
		}},
		{"two ranges: the whole on the MISS (single_range), multipart from the cache", []rangeStep{
			{path: "/m", header: two, status: 200, xcache: "MISS", fields: whole, body: rangeBody},
			{path: "/m", header: two, status: 206, xcache: "HIT", parts: multi, fields: map[string]string{"Content-Length": "220"}},
			{method: "HEAD", path: "/m", header: two, status: 206, xcache: "HIT", fields: map[string]string{"Content-Length": "220"}},
			{path: "/m", header: map[string]string{"Range": "bytes=20-29,0-9"}, status: 206, xcache: "HIT",
				parts: []string{"bytes 20-29/1000", "bytes 0-9/1000"}},
		}},
		{"no Accept-Ranges upstream: no ranges", []rangeStep{
			{path: "/noar", header: r09, status: 200, xcache: "MISS", fields: bare, body: rangeBody},
			{path: "/noar", header: r09, status: 200, xcache: "HIT", fields: bare, body: rangeBody},
		}},
		{"no Content-Length: whole, chunked, on the MISS and the HIT", []rangeStep{
			{path: "/chunked", header: r09, status: 200, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-", "Content-Length": "-"}, body: rangeBody},
			{path: "/chunked", header: r09, status: 200, xcache: "HIT", fields: map[string]string{"Accept-Ranges": "-", "Content-Length": "-"}, body: rangeBody},
		}},
		{"416 is not stored", []rangeStep{
			{path: "/u416", header: map[string]string{"Range": "bytes=2000-"}, status: 416, xcache: "MISS",
				fields: map[string]string{"Content-Range": "bytes */1000", "Etag": "-", "Last-Modified": "-", "Cache-Control": "max-age=600"}},
			{path: "/u416", header: map[string]string{"Range": "bytes=2000-"}, status: 416, xcache: "MISS", upstream: []string{"", ""}},
		}},
		{"If-Range", []rangeStep{
			{path: "/ir", header: map[string]string{"Range": "bytes=0-9", "If-Range": `"abc"`}, status: 206, xcache: "MISS", body: rangeBody[:10]},
			{path: "/ir", header: map[string]string{"Range": "bytes=0-9", "If-Range": `"x"`}, status: 200, xcache: "HIT", fields: whole},
			{path: "/ir", header: map[string]string{"Range": "bytes=0-9", "If-Range": "Mon, 01 Jan 2024 00:00:00 GMT"}, status: 206, xcache: "HIT", body: rangeBody[:10]},
		}},
		{"max_ranges 1 and 0", []rangeStep{
			{path: "/mr/a", header: two, status: 200, xcache: "MISS", fields: whole},
			{path: "/mr/a", header: two, status: 200, xcache: "HIT", fields: whole},
			{path: "/mr0/a", header: r09, status: 200, xcache: "MISS", fields: bare},
			{path: "/mr0/a", header: r09, status: 200, xcache: "HIT", fields: bare},
		}},
		{"HEAD", []rangeStep{
			{method: "HEAD", path: "/head", header: r09, status: 206, xcache: "MISS", fields: single},
			{method: "HEAD", path: "/head", header: r09, status: 206, xcache: "HIT", fields: single},
		}},
		{"bypass and no_cache: the range is cut here too", []rangeStep{
			{path: "/bp/a?b=1", header: r09, status: 206, xcache: "BYPASS", fields: single, body: rangeBody[:10]},
			{path: "/nc/a?n=1", header: r09, status: 206, xcache: "MISS", fields: single, body: rangeBody[:10]},
			{path: "/nc/a?n=1", header: r09, status: 206, xcache: "MISS", upstream: []string{"", ""}},
		}},
		{"gzip refuses ranges for a client that takes gzip", []rangeStep{
			{path: "/gz/a", header: map[string]string{"Range": "bytes=0-9", "Accept-Encoding": "gzip"}, status: 200, xcache: "MISS",
				fields: map[string]string{"Content-Encoding": "gzip", "Accept-Ranges": "-"}},
			{path: "/gz/a", header: r09, status: 206, xcache: "HIT", fields: single, body: rangeBody[:10]},
		}},
		{"a response the cache may not take keeps its Accept-Ranges", []rangeStep{
			{path: "/nostore", header: r09, status: 200, xcache: "MISS", fields: whole, body: rangeBody},
		}},
		{"short of min_uses, the Range goes upstream", []rangeStep{
			{path: "/mu/a", header: r09, status: 200, xcache: "MISS", fields: whole, upstream: []string{"bytes=0-9"}},
			{path: "/mu/a", header: r09, status: 206, xcache: "MISS", fields: single, upstream: []string{"bytes=0-9", ""}},
			{path: "/mu/a", header: r09, status: 206, xcache: "HIT", fields: single},
		}},
		{"proxy_hide_header Accept-Ranges: no ranges", []rangeStep{
			{path: "/hide/a", header: r09, status: 200, xcache: "MISS", fields: bare},
			{path: "/hide/a", header: r09, status: 200, xcache: "HIT", fields: bare},
		}},
		{"max_range_offset sends far ranges upstream; the cache answers them later", []rangeStep{
			{path: "/off/a", header: map[string]string{"Range": "bytes=600-609"}, status: 200, xcache: "MISS", fields: whole, upstream: []string{"bytes=600-609"}},
			{path: "/off/a", header: r09, status: 206, xcache: "MISS", fields: single},
			{path: "/off/a", header: map[string]string{"Range": "bytes=600-609"}, status: 206, xcache: "HIT",
				fields: map[string]string{"Content-Range": "bytes 600-609/1000"}, body: rangeBody[600:610]},
		}},
		{"fastcgi_cache", []rangeStep{
			{path: "/cgi/a", header: r09, status: 206, xcache: "MISS", fields: single, body: rangeBody[:10], upstream: []string{""}},
			{path: "/cgi/a", header: two, status: 206, xcache: "HIT", parts: multi},
			{path: "/cgi/b", header: map[string]string{"Range": "bytes=2000-"}, status: 416, xcache: "MISS", fields: map[string]string{"Content-Range": "bytes */1000"}},
			{path: "/cgi/b", header: r09, status: 206, xcache: "MISS", body: rangeBody[:10]},
		}},
		// nginx 1.22.1 drops the upstream's Accept-Ranges from any
		// response its cache could take when the fields are read
		// (u->cacheable: a MISS, a BYPASS, a proxy_no_cache one, not one
		// short of min_uses nor one the fields forbid storing), and its
		// range filter writes its own on a 200 only: a 206, 404, 416 or
		// 500 passed on has none, its Content-Range kept.
		{"a non-200 from the upstream loses its Accept-Ranges", []rangeStep{
			{path: "/s404/a", status: 404, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "-"}},
			{path: "/s404/a", status: 404, xcache: "HIT", fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "-"}},
			{path: "/s416/r", header: map[string]string{"Range": "bytes=2-4"}, status: 416, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes */1000"}, upstream: []string{""}},
			{path: "/s416/r", header: map[string]string{"Range": "bytes=2-4"}, status: 416, xcache: "HIT",
				fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes */1000"}},
			{path: "/s206/a", status: 206, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes 0-9/1000"}, body: rangeBody[:10]},
			{path: "/s500/r", header: map[string]string{"Range": "bytes=2-4"}, status: 500, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-"}, body: rangeBody},
			{path: "/bp/s404/a?b=1", status: 404, xcache: "BYPASS", fields: map[string]string{"Accept-Ranges": "-"}},
			{path: "/nc/s416/a?n=1", status: 416, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes */1000"}},
		}},
		{"a non-200 the cache could not take keeps its Accept-Ranges", []rangeStep{
			{path: "/s404/nostore", status: 404, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "bytes"}},
			{path: "/none/s404/r", header: map[string]string{"Range": "bytes=2-4"}, status: 404, xcache: "",
				fields: map[string]string{"Accept-Ranges": "bytes"}, upstream: []string{"bytes=2-4"}},
			{path: "/none/s206/r", header: map[string]string{"Range": "bytes=2-4"}, status: 206, xcache: "",
				fields: map[string]string{"Accept-Ranges": "bytes", "Content-Range": "bytes 0-9/1000"}},
			{path: "/mu/s404/a", status: 404, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "bytes"}},
			{path: "/mu/s404/a", status: 404, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-"}},
		}},
		{"fastcgi_cache: a non-200 loses its Accept-Ranges, short of min_uses it keeps it", []rangeStep{
			{path: "/cgi/s404/a", status: 404, xcache: "MISS", fields: map[string]string{"Accept-Ranges": "-"}},
			{path: "/cgi/s404/a", status: 404, xcache: "HIT", fields: map[string]string{"Accept-Ranges": "-"}},
			{path: "/cgi/s416/r", header: map[string]string{"Range": "bytes=2-4"}, status: 416, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes */1000"}},
			{path: "/cgi/bp/s404/a?b=1", status: 404, xcache: "BYPASS", fields: map[string]string{"Accept-Ranges": "-"}},
			// Short of min_uses the Range goes to the application and its
			// answer is passed on whole, its Accept-Ranges kept; once
			// min_uses is met the range filter cuts it.
			{path: "/cgi/mu/s404/r", header: map[string]string{"Range": "bytes=2-4"}, status: 404, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "bytes"}, upstream: []string{"bytes=2-4"}},
			{path: "/cgi/mu/s404/r", header: map[string]string{"Range": "bytes=2-4"}, status: 404, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "-"}, upstream: []string{"bytes=2-4", ""}},
			{path: "/cgi/mu/s200/r", header: map[string]string{"Range": "bytes=2-4"}, status: 200, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "bytes", "Content-Range": "-"}, upstream: []string{"bytes=2-4"}},
			{path: "/cgi/mu/s200/r", header: map[string]string{"Range": "bytes=2-4"}, status: 206, xcache: "MISS",
				fields: map[string]string{"Accept-Ranges": "-", "Content-Range": "bytes 2-4/1000"}, body: rangeBody[2:5], upstream: []string{"bytes=2-4", ""}},
		}},
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range tc.steps {
				checkRangeStep(t, client, addr, i, s, b)
			}
		})
	}
}

// sendStep sends method (GET when empty) for path to addr with header's
// fields and returns the method sent, the response and its body.
func sendStep(t *testing.T, client *http.Client, addr, method, path string, header map[string]string) (string, *http.Response, []byte) {
	t.Helper()
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return method, resp, body
}

// checkRangeStep sends s and checks the answer.
func checkRangeStep(t *testing.T, client *http.Client, addr string, i int, s rangeStep, b *rangeBackend) {
	t.Helper()
	method, resp, body := sendStep(t, client, addr, s.method, s.path, s.header)
	if resp.StatusCode != s.status || resp.Header.Get("X-Cache") != s.xcache {
		t.Fatalf("step %d %s %s: %d %s, want %d %s", i, method, s.path, resp.StatusCode, resp.Header.Get("X-Cache"), s.status, s.xcache)
	}
	for k, want := range s.fields {
		v, ok := resp.Header[k]
		if k == "Content-Length" && resp.ContentLength >= 0 && method != http.MethodHead {
			v, ok = []string{strconv.FormatInt(resp.ContentLength, 10)}, true
		}
		if want == "-" && ok || want != "-" && (!ok || v[0] != want) {
			t.Errorf("step %d %s: %s = %q, want %q", i, s.path, k, v, want)
		}
	}
	if s.body != "" && string(body) != s.body {
		t.Errorf("step %d %s: body %q, want %q", i, s.path, body, s.body)
	}
	if method == http.MethodHead && len(body) != 0 {
		t.Errorf("step %d %s: a body for HEAD", i, s.path)
	}
	if s.parts != nil {
		checkParts(t, resp.Header.Get("Content-Type"), body, s.parts)
	}
	if s.upstream != nil {
		path, _, _ := strings.Cut(s.path, "?")
		if got := b.got(path); strings.Join(got, "|") != strings.Join(s.upstream, "|") {
			t.Errorf("step %d %s: the backend saw Range %q, want %q", i, s.path, got, s.upstream)
		}
	}
}

// checkParts reads a multipart/byteranges body: each part has the type of
// the object (text/plain) and the next Content-Range of want, with its bytes.
func checkParts(t *testing.T, ctype string, body []byte, want []string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q", ctype)
	}
	mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d parts, want %d", i, len(want))
			}
			return
		}
		if err != nil || i >= len(want) {
			t.Fatalf("part %d: %v", i, err)
		}
		cr := p.Header.Get("Content-Range")
		data, _ := io.ReadAll(p)
		var from, to int
		_, _ = fmt.Sscanf(cr, "bytes %d-%d/", &from, &to)
		if cr != want[i] || p.Header.Get("Content-Type") != "text/plain" || string(data) != rangeBody[from:to+1] {
			t.Fatalf("part %d: %q %q %q, want %q", i, cr, p.Header.Get("Content-Type"), data, want[i])
		}
	}
}
