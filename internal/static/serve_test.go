package static

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// miniDaemon is the smallest caller that uses the package the way the daemon
// should: resolve, then serve the file, redirect, redirect internally (at most
// 10 times, as nginx) or answer a status. Routing is by longest prefix.
type miniDaemon struct {
	locs []miniLoc // longest prefix first
}

type miniLoc struct {
	prefix string
	rv     *Resolver
}

func (d *miniDaemon) route(uri string) *Resolver {
	for _, l := range d.locs {
		if strings.HasPrefix(uri, l.prefix) {
			return l.rv
		}
	}
	return nil
}

func (d *miniDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri, args := r.URL.Path, r.URL.RawQuery
	for range 10 {
		rv := d.route(uri)
		if rv == nil {
			http.Error(w, "no location", http.StatusNotFound)
			return
		}
		res := rv.Resolve(Request{Method: r.Method, URI: uri, Args: args, Expand: expander(uri, args, nil)})
		switch res.Kind {
		case KindFile:
			if err := ServeFile(w, r, res); err != nil {
				http.Error(w, err.Error(), ErrorStatus(err))
			}
			return
		case KindRedirect:
			w.Header().Set("Location", "http://"+r.Host+res.Location)
			w.WriteHeader(res.Status)
			return
		case KindInternalRedirect:
			uri, args = res.URI, res.Args
			continue
		case KindNamedLocation:
			fmt.Fprintf(w, "%s uri=%s args=%s\n", res.Name, uri, args)
			return
		default:
			http.Error(w, http.StatusText(res.Status), res.Status)
			return
		}
	}
	http.Error(w, "rewrite or internal redirection cycle", http.StatusInternalServerError)
}

func newServer(t *testing.T, tr testTree) *httptest.Server {
	t.Helper()
	sites := testSites(tr)
	d := &miniDaemon{}
	for _, l := range []struct{ prefix, site string }{
		{"/tfuri/", "tfuri"}, {"/plain/", "plain"}, {"/tf/", "tf"}, {"/al/", "al"}, {"/", "debian"},
	} {
		s := sites[l.site]
		rv, err := New(&s.settings, s.types, s.loc)
		if err != nil {
			t.Fatal(err)
		}
		d.locs = append(d.locs, miniLoc{l.prefix, rv})
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return srv
}

type httpCase struct {
	name     string
	method   string
	path     string
	header   map[string]string
	status   int
	body     string            // exact body; "" with noBody means empty
	noBody   bool              // the body must be empty
	headers  map[string]string // exact values; "" means absent
	prefix   string            // the body must start with it (multipart)
	contains []string          // the body must contain these
}

// Expected answers are nginx 1.22.1's for the same files, dates and requests,
// except where a comment says otherwise.
var httpCases = []httpCase{
	{name: "GET file", path: "/a.txt", status: 200, body: "a\n", headers: map[string]string{
		"Content-Type": "text/plain", "Content-Length": "2", "Last-Modified": fileTimeHTTP,
		"Etag": `"65937d25-2"`, "Accept-Ranges": "bytes"}},
	{name: "HEAD file", method: "HEAD", path: "/a.txt", status: 200, noBody: true, headers: map[string]string{
		"Content-Type": "text/plain", "Content-Length": "2", "Etag": `"65937d25-2"`}},
	{name: "index", path: "/", status: 200, body: "root-index\n", headers: map[string]string{"Content-Type": "text/html"}},
	{name: "directory redirect", path: "/dir", status: 301, noBody: true},
	{name: "directory redirect with args", path: "/dir?q=1", status: 301, noBody: true},
	{name: "no directory listing", path: "/empty/", status: 403},
	{name: "missing", path: "/missing", status: 404},
	{name: "PUT file", method: "PUT", path: "/a.txt", status: 405},
	{name: "POST file", method: "POST", path: "/a.txt", status: 405},
	{name: "internal redirect", path: "/tfuri/nope?k=v", status: 200, body: "plain\n"},
	{name: "named location", path: "/tf/nope?a=b", status: 200, body: "@fb uri=/tf/nope args=a=b\n"},
	{name: "alias index", path: "/al/ad/", status: 200, body: "adi\n"},
	{name: "no sniffing", path: "/page.zzz", status: 200, headers: map[string]string{"Content-Type": "application/octet-stream"},
		body: "<html><body>sniff me</body></html>\n"},

	// Conditional requests: nginx's default if_modified_since exact.
	// nginx also sends Last-Modified with the 304; Go's ServeContent drops it
	// when there is an ETag (RFC 9110, section 15.4.5).
	{name: "If-Modified-Since exact", path: "/a.txt", header: map[string]string{"If-Modified-Since": fileTimeHTTP},
		status: 304, noBody: true, headers: map[string]string{"Etag": `"65937d25-2"`, "Content-Type": ""}},
	{name: "If-Modified-Since later", path: "/a.txt", header: map[string]string{"If-Modified-Since": "Tue, 02 Jan 2024 03:04:06 GMT"}, status: 200, body: "a\n"},
	{name: "If-Modified-Since earlier", path: "/a.txt", header: map[string]string{"If-Modified-Since": "Tue, 02 Jan 2024 03:04:04 GMT"}, status: 200, body: "a\n"},
	{name: "If-Modified-Since garbage", path: "/a.txt", header: map[string]string{"If-Modified-Since": "garbage"}, status: 200, body: "a\n"},
	{name: "If-None-Match", path: "/a.txt", header: map[string]string{"If-None-Match": `"65937d25-2"`}, status: 304, noBody: true},
	{name: "If-None-Match weak", path: "/a.txt", header: map[string]string{"If-None-Match": `W/"65937d25-2"`}, status: 304, noBody: true},
	{name: "If-None-Match other", path: "/a.txt", header: map[string]string{"If-None-Match": `"x"`}, status: 200, body: "a\n"},
	{name: "If-None-Match with later If-Modified-Since", path: "/a.txt", header: map[string]string{
		"If-None-Match": `"65937d25-2"`, "If-Modified-Since": "Tue, 02 Jan 2024 03:04:06 GMT"}, status: 200, body: "a\n"},
	{name: "If-None-Match other with exact If-Modified-Since", path: "/a.txt", header: map[string]string{
		"If-None-Match": `"x"`, "If-Modified-Since": fileTimeHTTP}, status: 200, body: "a\n"},
	{name: "HEAD If-Modified-Since exact", method: "HEAD", path: "/a.txt", header: map[string]string{"If-Modified-Since": fileTimeHTTP}, status: 304, noBody: true},

	// Ranges on "0123456789\n".
	{name: "Range first bytes", path: "/r.txt", header: map[string]string{"Range": "bytes=0-3"}, status: 206, body: "0123",
		headers: map[string]string{"Content-Range": "bytes 0-3/11", "Content-Length": "4", "Content-Type": "text/plain"}},
	{name: "Range open end", path: "/r.txt", header: map[string]string{"Range": "bytes=5-"}, status: 206, body: "56789\n",
		headers: map[string]string{"Content-Range": "bytes 5-10/11"}},
	{name: "Range suffix", path: "/r.txt", header: map[string]string{"Range": "bytes=-3"}, status: 206, body: "89\n",
		headers: map[string]string{"Content-Range": "bytes 8-10/11"}},
	{name: "Range past the end", path: "/r.txt", header: map[string]string{"Range": "bytes=0-100"}, status: 206, body: "0123456789\n",
		headers: map[string]string{"Content-Range": "bytes 0-10/11"}},
	// nginx's 416 body is its HTML error page; Go's is plain text.
	{name: "Range unsatisfiable", path: "/r.txt", header: map[string]string{"Range": "bytes=20-30"}, status: 416,
		headers: map[string]string{"Content-Range": "bytes */11"}},
	{name: "Range backwards", path: "/r.txt", header: map[string]string{"Range": "bytes=3-1"}, status: 416},
	{name: "Range other unit", path: "/r.txt", header: map[string]string{"Range": "foo=1-2"}, status: 200, body: "0123456789\n"},
	{name: "Range unit in capitals", path: "/r.txt", header: map[string]string{"Range": "BYTES=0-1"}, status: 206, body: "01"},
	// nginx's multipart body starts with CRLF; Go's with the boundary.
	{name: "Range several", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1,4-5"}, status: 206, prefix: "--",
		contains: []string{"Content-Range: bytes 0-1/11\r\nContent-Type: text/plain\r\n\r\n01\r\n", "Content-Range: bytes 4-5/11\r\n"}},
	{name: "If-Range other", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": `"nope"`}, status: 200, body: "0123456789\n"},
	{name: "If-Range date", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": fileTimeHTTP}, status: 206, body: "01"},
}

func TestServeHTTP(t *testing.T) {
	tr := newTree(t)
	tr.write(t, "www/r.txt", "0123456789\n") // already there; keep the date explicit
	srv := newServer(t, tr)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			checkHTTP(t, tc, resp, string(body))
		})
	}
}

func checkHTTP(t *testing.T, tc httpCase, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != tc.status {
		t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
	}
	switch {
	case tc.noBody && body != "":
		t.Errorf("body %q, want none", body)
	case tc.body != "" && body != tc.body:
		t.Errorf("body %q, want %q", body, tc.body)
	case !strings.HasPrefix(body, tc.prefix):
		t.Errorf("body %q, want it to start with %q", body, tc.prefix)
	}
	for _, part := range tc.contains {
		if !strings.Contains(body, part) {
			t.Errorf("body %q lacks %q", body, part)
		}
	}
	for k, v := range tc.headers {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

// TestServeHTTPRedirectLocation checks the absolute Location the caller builds
// from Result.Location, with nginx's escaping and the args.
func TestServeHTTPRedirectLocation(t *testing.T) {
	tr := newTree(t)
	srv := newServer(t, tr)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for path, want := range map[string]string{
		"/dir":         srv.URL + "/dir/",
		"/dir?q=1":     srv.URL + "/dir/?q=1",
		"/a%20b":       srv.URL + "/a%20b/",
		"/plain/pd":    srv.URL + "/plain/pd/",
		"/al/ad?x=%41": srv.URL + "/al/ad/?x=%41",
	} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); resp.StatusCode != 301 || got != want {
			t.Errorf("%s: %d %q, want 301 %q", path, resp.StatusCode, got, want)
		}
	}
}

// resolveFile resolves uri in Debian's default site and expects a file.
func resolveFile(t *testing.T, tr testTree, uri string) Result {
	t.Helper()
	s := testSites(tr)["debian"]
	rv, err := New(&s.settings, s.types, s.loc)
	if err != nil {
		t.Fatal(err)
	}
	res := rv.Resolve(Request{Method: "GET", URI: uri, Expand: expander(uri, "", nil)})
	if res.Kind != KindFile {
		t.Fatalf("Resolve(%s) = %v %d (%v), want a file", uri, res.Kind, res.Status, res.Err)
	}
	return res
}

// TestServeFileRefuses covers the errors of ServeFile: nothing is written and
// ErrorStatus gives the answer.
func TestServeFileRefuses(t *testing.T) {
	tests := []struct {
		name   string
		method string
		change func(t *testing.T, tr testTree, res *Result)
		status int
		is     error
	}{
		{name: "POST", method: "POST", status: 405, is: ErrMethodNotAllowed},
		{name: "not a file", change: func(_ *testing.T, _ testTree, res *Result) { res.Kind = KindRedirect }, status: 500, is: ErrNotFile},
		{name: "removed since Resolve", change: func(t *testing.T, tr testTree, _ *Result) {
			if err := os.Remove(tr.path("www/swap/f.txt")); err != nil {
				t.Fatal(err)
			}
		}, status: 404},
		{name: "directory swapped for a link leading out", change: func(t *testing.T, tr testTree, _ *Result) {
			swapForLink(t, tr, "../outside/swap")
		}, status: 403, is: ErrOutsideRoot},
		{name: "directory swapped for an absolute link leading out", change: func(t *testing.T, tr testTree, _ *Result) {
			swapForLink(t, tr, tr.path("outside/swap"))
		}, status: 403, is: ErrOutsideRoot},
		{name: "path not inside base", change: func(_ *testing.T, tr testTree, res *Result) { res.Path = tr.path("secret.txt") },
			status: 403, is: ErrOutsideRoot},
		{name: "file swapped for a fifo", change: func(t *testing.T, tr testTree, _ *Result) {
			p := tr.path("www/swap/f.txt")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			res := resolveFile(t, tr, "/swap/f.txt")
			if tc.change != nil {
				tc.change(t, tr, &res)
			}
			method := tc.method
			if method == "" {
				method = "GET"
			}
			rec := httptest.NewRecorder()
			err := serveWithin(t, rec, httptest.NewRequest(method, "/swap/f.txt", nil), res)
			if err == nil {
				t.Fatalf("ServeFile served %d %q", rec.Code, rec.Body.String())
			}
			if got := ErrorStatus(err); got != tc.status {
				t.Errorf("ErrorStatus(%v) = %d, want %d", err, got, tc.status)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Errorf("wrote %v %q", rec.Header(), rec.Body.String())
			}
		})
	}
}

// swapForLink replaces www/swap, which holds f.txt, by a link to target, which
// holds another f.txt.
func swapForLink(t *testing.T, tr testTree, target string) {
	t.Helper()
	if err := os.Rename(tr.path("www/swap"), tr.path("www/swap-old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, tr.path("www/swap")); err != nil {
		t.Fatal(err)
	}
}

// serveWithin runs ServeFile with a deadline, so a blocking open fails the test
// instead of hanging it.
func serveWithin(t *testing.T, w http.ResponseWriter, r *http.Request, res Result) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- ServeFile(w, r, res) }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("ServeFile blocked")
		return nil
	}
}

// TestServeFileKeepsRequest checks that dropping the conditional headers works on
// a copy: the caller's request (used afterwards for logging) is unchanged.
func TestServeFileKeepsRequest(t *testing.T) {
	tr := newTree(t)
	res := resolveFile(t, tr, "/a.txt")
	req := httptest.NewRequest("GET", "/a.txt", nil)
	req.Header.Set("If-Modified-Since", "Tue, 02 Jan 2024 03:04:06 GMT")
	req.Header.Set("If-None-Match", `"65937d25-2"`)
	rec := httptest.NewRecorder()
	if err := ServeFile(rec, req, res); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || rec.Body.String() != "a\n" {
		t.Fatalf("got %d %q, want 200 \"a\\n\"", rec.Code, rec.Body.String())
	}
	if req.Header.Get("If-Modified-Since") == "" || req.Header.Get("If-None-Match") == "" {
		t.Errorf("caller's headers changed: %v", req.Header)
	}
}

// TestServeFileFreshStat checks that ServeFile describes the file as opened, not
// as resolved: a file rewritten in between is sent whole with its new length.
func TestServeFileFreshStat(t *testing.T) {
	tr := newTree(t)
	res := resolveFile(t, tr, "/a.txt")
	tr.write(t, "www/a.txt", "longer now\n")
	rec := httptest.NewRecorder()
	if err := ServeFile(rec, httptest.NewRequest("GET", "/a.txt", nil), res); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != "longer now\n" || rec.Header().Get("Content-Length") != "11" ||
		rec.Header().Get("Etag") != `"65937d25-b"` {
		t.Fatalf("got %v %q", rec.Header(), rec.Body.String())
	}
}
