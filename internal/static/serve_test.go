package static

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
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
	prefix   string            // the body must start with it
	contains []string          // the body must contain these
	// parts are the "Content-Range value, bytes" pairs of nginx's
	// multipart/byteranges body, which the whole body must be.
	parts [][2]string
}

// Heads nginx 1.22.1 sent for the test files (a.txt is "a\n", r.txt
// "0123456789\n"); "" means the field is absent.
var (
	head200 = map[string]string{"Content-Type": "text/plain", "Content-Length": "2",
		"Last-Modified": fileTimeHTTP, "Etag": `"65937d25-2"`, "Accept-Ranges": "bytes", "Content-Range": ""}
	head304 = map[string]string{"Content-Type": "", "Content-Length": "",
		"Last-Modified": fileTimeHTTP, "Etag": `"65937d25-2"`, "Accept-Ranges": ""}
	head200r = map[string]string{"Content-Type": "text/plain", "Content-Length": "11",
		"Last-Modified": fileTimeHTTP, "Etag": `"65937d25-b"`, "Accept-Ranges": "bytes", "Content-Range": ""}
	// The 412 and 416 bodies are the caller's error pages (text/plain here).
	head412 = map[string]string{"Last-Modified": "", "Etag": "", "Accept-Ranges": "", "Content-Range": ""}
	head416 = map[string]string{"Last-Modified": "", "Etag": "", "Accept-Ranges": "", "Content-Range": "bytes */11"}
)

// head206 is nginx's head for one range of r.txt.
func head206(contentRange, length string) map[string]string {
	return map[string]string{"Content-Type": "text/plain", "Content-Length": length,
		"Last-Modified": fileTimeHTTP, "Etag": `"65937d25-b"`, "Accept-Ranges": "", "Content-Range": contentRange}
}

// headMulti is nginx's head for several ranges of r.txt (the Content-Type
// with its boundary is checked with the body).
var headMulti = map[string]string{"Last-Modified": fileTimeHTTP, "Etag": `"65937d25-b"`,
	"Accept-Ranges": "", "Content-Range": ""}

// Expected answers are nginx 1.22.1's for the same files, dates and requests,
// except where a comment says otherwise.
var httpCases = []httpCase{
	{name: "GET file", path: "/a.txt", status: 200, body: "a\n", headers: head200},
	{name: "HEAD file", method: "HEAD", path: "/a.txt", status: 200, noBody: true, headers: head200},
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

	// Conditional requests: nginx's default if_modified_since exact. A 304
	// keeps Last-Modified next to the ETag (Go's ServeContent drops it).
	{name: "If-Modified-Since exact", path: "/a.txt", header: map[string]string{"If-Modified-Since": fileTimeHTTP},
		status: 304, noBody: true, headers: head304},
	{name: "If-Modified-Since later", path: "/a.txt", header: map[string]string{"If-Modified-Since": "Tue, 02 Jan 2024 03:04:06 GMT"}, status: 200, body: "a\n", headers: head200},
	{name: "If-Modified-Since earlier", path: "/a.txt", header: map[string]string{"If-Modified-Since": "Tue, 02 Jan 2024 03:04:04 GMT"}, status: 200, body: "a\n"},
	{name: "If-Modified-Since garbage", path: "/a.txt", header: map[string]string{"If-Modified-Since": "garbage"}, status: 200, body: "a\n"},
	{name: "If-None-Match", path: "/a.txt", header: map[string]string{"If-None-Match": `"65937d25-2"`}, status: 304, noBody: true, headers: head304},
	{name: "If-None-Match weak", path: "/a.txt", header: map[string]string{"If-None-Match": `W/"65937d25-2"`}, status: 304, noBody: true},
	{name: "If-None-Match in a list", path: "/a.txt", header: map[string]string{"If-None-Match": `"x", W/"65937d25-2"`}, status: 304, noBody: true, headers: head304},
	{name: "If-None-Match other", path: "/a.txt", header: map[string]string{"If-None-Match": `"x"`}, status: 200, body: "a\n"},
	{name: "If-None-Match with later If-Modified-Since", path: "/a.txt", header: map[string]string{
		"If-None-Match": `"65937d25-2"`, "If-Modified-Since": "Tue, 02 Jan 2024 03:04:06 GMT"}, status: 200, body: "a\n"},
	{name: "If-None-Match other with exact If-Modified-Since", path: "/a.txt", header: map[string]string{
		"If-None-Match": `"x"`, "If-Modified-Since": fileTimeHTTP}, status: 200, body: "a\n"},
	{name: "HEAD If-Modified-Since exact", method: "HEAD", path: "/a.txt", header: map[string]string{"If-Modified-Since": fileTimeHTTP}, status: 304, noBody: true, headers: head304},
	{name: "If-Match other", path: "/a.txt", header: map[string]string{"If-Match": `"x"`}, status: 412, headers: head412},
	{name: "If-Match weak is not strong", path: "/a.txt", header: map[string]string{"If-Match": `W/"65937d25-2"`}, status: 412, headers: head412},
	{name: "If-Match in a list", path: "/a.txt", header: map[string]string{"If-Match": `"x", "65937d25-2"`}, status: 200, body: "a\n", headers: head200},
	{name: "If-Match any", path: "/a.txt", header: map[string]string{"If-Match": "*"}, status: 200, body: "a\n"},
	{name: "If-Unmodified-Since earlier", path: "/a.txt", header: map[string]string{"If-Unmodified-Since": "Tue, 02 Jan 2024 03:04:04 GMT"}, status: 412, headers: head412},
	{name: "If-Unmodified-Since exact", path: "/a.txt", header: map[string]string{"If-Unmodified-Since": fileTimeHTTP}, status: 200, body: "a\n"},
	{name: "If-Unmodified-Since garbage", path: "/a.txt", header: map[string]string{"If-Unmodified-Since": "garbage"}, status: 412},

	// Ranges on "0123456789\n". A 206 has no Accept-Ranges; a 416 has only the
	// Content-Range of the file's fields, and the caller's error page.
	{name: "Range first bytes", path: "/r.txt", header: map[string]string{"Range": "bytes=0-3"}, status: 206, body: "0123",
		headers: head206("bytes 0-3/11", "4")},
	{name: "HEAD Range", method: "HEAD", path: "/r.txt", header: map[string]string{"Range": "bytes=0-3"}, status: 206, noBody: true,
		headers: head206("bytes 0-3/11", "4")},
	{name: "Range open end", path: "/r.txt", header: map[string]string{"Range": "bytes=5-"}, status: 206, body: "56789\n",
		headers: head206("bytes 5-10/11", "6")},
	{name: "Range suffix", path: "/r.txt", header: map[string]string{"Range": "bytes=-3"}, status: 206, body: "89\n",
		headers: head206("bytes 8-10/11", "3")},
	{name: "Range suffix longer than the file", path: "/r.txt", header: map[string]string{"Range": "bytes=-100"}, status: 206,
		body: "0123456789\n", headers: head206("bytes 0-10/11", "11")},
	{name: "Range past the end", path: "/r.txt", header: map[string]string{"Range": "bytes=0-100"}, status: 206, body: "0123456789\n",
		headers: head206("bytes 0-10/11", "11")},
	{name: "Range unsatisfiable", path: "/r.txt", header: map[string]string{"Range": "bytes=20-30"}, status: 416, headers: head416},
	{name: "Range starting at the end", path: "/r.txt", header: map[string]string{"Range": "bytes=11-"}, status: 416, headers: head416},
	{name: "Range backwards", path: "/r.txt", header: map[string]string{"Range": "bytes=3-1"}, status: 416, headers: head416},
	{name: "Range empty suffix", path: "/r.txt", header: map[string]string{"Range": "bytes=-0"}, status: 416, headers: head416},
	{name: "Range dash alone", path: "/r.txt", header: map[string]string{"Range": "bytes=-"}, status: 416, headers: head416},
	{name: "Range with a bad tail", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1;"}, status: 416, headers: head416},
	{name: "Range with an empty spec", path: "/r.txt", header: map[string]string{"Range": "bytes=3-3,,4-4"}, status: 416, headers: head416},
	{name: "Range overflowing", path: "/r.txt", header: map[string]string{"Range": "bytes=0-99999999999999999999"}, status: 416, headers: head416},
	{name: "Range backwards then good", path: "/r.txt", header: map[string]string{"Range": "bytes=5-3,0-1"}, status: 206, body: "01",
		headers: head206("bytes 0-1/11", "2")},
	{name: "Range with spaces", path: "/r.txt", header: map[string]string{"Range": "bytes= 0 - 1 , 3-3"}, status: 206,
		headers: headMulti, parts: [][2]string{{"0-1/11", "01"}, {"3-3/11", "3"}}},
	{name: "Ranges longer than the file", path: "/r.txt", header: map[string]string{"Range": "bytes=0-0,0-10"}, status: 200,
		body: "0123456789\n", headers: head200r},
	{name: "Range empty", path: "/r.txt", header: map[string]string{"Range": "bytes="}, status: 200, body: "0123456789\n", headers: head200r},
	{name: "Range other unit", path: "/r.txt", header: map[string]string{"Range": "foo=1-2"}, status: 200, body: "0123456789\n", headers: head200r},
	{name: "Range unit in capitals", path: "/r.txt", header: map[string]string{"Range": "BYTES=0-1"}, status: 206, body: "01"},
	{name: "Range several", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1,4-5"}, status: 206,
		headers: headMulti, parts: [][2]string{{"0-1/11", "01"}, {"4-5/11", "45"}}},
	{name: "If-Range other", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": `"nope"`}, status: 200,
		body: "0123456789\n", headers: head200r},
	{name: "If-Range weak", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": `W/"65937d25-b"`}, status: 200,
		body: "0123456789\n", headers: head200r},
	{name: "If-Range entity tag", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": `"65937d25-b"`}, status: 206,
		body: "01", headers: head206("bytes 0-1/11", "2")},
	{name: "If-Range date", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": fileTimeHTTP}, status: 206, body: "01"},
	{name: "If-Range later date", path: "/r.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": "Tue, 02 Jan 2024 03:04:06 GMT"},
		status: 200, body: "0123456789\n"},
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
	if tc.parts != nil {
		checkMultipart(t, tc.parts, resp.Header, body)
	}
}

// checkMultipart checks nginx's multipart/byteranges body: a 20-digit
// boundary, each part as CRLF "--" boundary, its Content-Type and
// Content-Range, a blank line and the bytes, then CRLF "--" boundary "--" CRLF,
// with a Content-Length that counts it all.
func checkMultipart(t *testing.T, parts [][2]string, h http.Header, body string) {
	t.Helper()
	boundary, ok := strings.CutPrefix(h.Get("Content-Type"), "multipart/byteranges; boundary=")
	if !ok || len(boundary) != 20 || strings.Trim(boundary, "0123456789") != "" {
		t.Fatalf("Content-Type %q, want multipart/byteranges with a 20-digit boundary", h.Get("Content-Type"))
	}
	var want strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&want, "\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes %s\r\n\r\n%s", boundary, p[0], p[1])
	}
	fmt.Fprintf(&want, "\r\n--%s--\r\n", boundary)
	if body != want.String() {
		t.Errorf("body\n%q\nwant\n%q", body, want.String())
	}
	if h.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q for %d bytes", h.Get("Content-Length"), len(body))
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

// TestServeFilePreconditionAndRangeErrors checks that a 412 and a 416 write no
// status and leave nothing in the header but the 416's Content-Range, so that
// the caller's error page (error_page included) answers, as nginx's does.
func TestServeFilePreconditionAndRangeErrors(t *testing.T) {
	tests := []struct {
		name   string
		header map[string]string
		status int
		is     error
		fields http.Header
	}{
		{"If-Match", map[string]string{"If-Match": `"x"`}, 412, ErrPreconditionFailed, http.Header{}},
		{"If-Unmodified-Since", map[string]string{"If-Unmodified-Since": "Tue, 02 Jan 2024 03:04:04 GMT"}, 412,
			ErrPreconditionFailed, http.Header{}},
		{"no range inside", map[string]string{"Range": "bytes=20-30"}, 416, ErrRangeNotSatisfiable,
			http.Header{"Content-Range": {"bytes */11"}}},
		{"malformed range", map[string]string{"Range": "bytes=x"}, 416, ErrRangeNotSatisfiable,
			http.Header{"Content-Range": {"bytes */11"}}},
	}
	tr := newTree(t)
	res := resolveFile(t, tr, "/r.txt")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/r.txt", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			err := ServeFile(rec, req, res)
			if !errors.Is(err, tc.is) || ErrorStatus(err) != tc.status {
				t.Fatalf("ServeFile: %v (status %d), want %v (%d)", err, ErrorStatus(err), tc.is, tc.status)
			}
			if rec.Flushed || rec.Body.Len() != 0 || !reflect.DeepEqual(rec.Header(), tc.fields) {
				t.Errorf("wrote %v %q, want only the fields %v", rec.Header(), rec.Body.String(), tc.fields)
			}
		})
	}
}

// TestServeFileAsErrorPage checks a file sent with another status than 200
// (error_page 404 /404.html): nginx sends it whole, with Content-Type,
// Content-Length and ETag but no Last-Modified or Accept-Ranges, whatever the
// conditional and Range headers say (its not-modified and range filters act
// on 200 only).
func TestServeFileAsErrorPage(t *testing.T) {
	tr := newTree(t)
	res := resolveFile(t, tr, "/r.txt")
	res.Status = http.StatusNotFound
	want := http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"11"}, "Etag": {`"65937d25-b"`}}
	for _, tc := range []struct {
		name, method string
		header       map[string]string
	}{
		{"GET", "GET", nil},
		{"HEAD", "HEAD", nil},
		{"Range", "GET", map[string]string{"Range": "bytes=0-3"}},
		{"unsatisfiable Range", "GET", map[string]string{"Range": "bytes=20-"}},
		{"If-None-Match", "GET", map[string]string{"If-None-Match": `"65937d25-b"`}},
		{"If-Modified-Since", "GET", map[string]string{"If-Modified-Since": fileTimeHTTP}},
		{"If-Match", "GET", map[string]string{"If-Match": `"x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/r.txt", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			if err := ServeFile(rec, req, res); err != nil {
				t.Fatal(err)
			}
			wantBody := "0123456789\n"
			if tc.method == "HEAD" {
				wantBody = ""
			}
			if rec.Code != 404 || rec.Body.String() != wantBody || !reflect.DeepEqual(rec.Header(), want) {
				t.Errorf("got %d %v %q, want 404 %v %q", rec.Code, rec.Header(), rec.Body.String(), want, wantBody)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkServeFile measures sending a small file whole, as a 304 and as one
// range.
func BenchmarkServeFile(b *testing.B) {
	tr := newTree(b)
	s := testSites(tr)["debian"]
	rv, err := New(&s.settings, s.types, s.loc)
	if err != nil {
		b.Fatal(err)
	}
	res := rv.Resolve(Request{Method: "GET", URI: "/r.txt", Expand: expander("/r.txt", "", nil)})
	for _, bc := range []struct{ name, key, value string }{
		{"200", "", ""},
		{"304", "If-None-Match", `"65937d25-b"`},
		{"206", "Range", "bytes=0-3"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/r.txt", nil)
			if bc.key != "" {
				req.Header.Set(bc.key, bc.value)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				if err := ServeFile(w, req, res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
