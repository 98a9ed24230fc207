package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sliceObject is the object of n bytes the slice backend serves: byte i is
// i mod 251, so that a byte out of place shows.
func sliceObject(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

var sliceModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// sliceBackend serves objects with Range support and records the requests
// it gets, as "METHOD PATH RANGE" (RANGE "-" for none). The first path
// segment picks how it answers:
//
//	f        http.ServeContent, ETag "v1"
//	norange  a 200 of the whole object, whatever the Range
//	etag     ETag "v2" for the slices after the first
//	e500     500 for the slices after the first
//	shift    the slices after the first one byte late
//	star     the slices after the first with an unknown total ("/*")
//	badfirst a 206 without Content-Range
type sliceBackend struct {
	addr string // host:port
	mu   sync.Mutex
	seen []string
}

func (b *sliceBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rng := r.Header.Get("Range")
	line := r.Method + " " + r.URL.RequestURI() + " " + rng
	if rng == "" {
		line += "-"
	}
	if ir := r.Header.Get("If-Range"); ir != "" {
		line += " if-range"
	}
	if body, _ := io.ReadAll(r.Body); len(body) > 0 || r.Header.Get("Content-Length") != "" {
		line += " " + sliceBodyNote(r.Header.Get("Content-Length"), body)
	}
	b.mu.Lock()
	b.seen = append(b.seen, line)
	b.mu.Unlock()
	mode, size, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	n, err := strconv.Atoi(size)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	obj := sliceObject(n)
	later := rng != "" && !strings.HasPrefix(rng, "bytes=0-")
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"v1"`)
	switch mode {
	case "norange":
		h.Set("Content-Length", size)
		w.Write(obj)
		return
	case "badfirst":
		h.Set("Content-Length", "1000")
		w.WriteHeader(http.StatusPartialContent)
		w.Write(obj[:1000])
		return
	case "etag":
		if later {
			h.Set("ETag", `"v2"`)
		}
	case "e500", "shift", "star":
		if later {
			var s, e int
			fmt.Sscanf(rng, "bytes=%d-%d", &s, &e)
			e = min(e, n-1)
			switch mode {
			case "e500":
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			case "shift":
				s++
				h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, e, n))
			case "star":
				h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", s, e))
			}
			h.Set("Content-Length", strconv.Itoa(e-s+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(obj[s : e+1])
			return
		}
	}
	http.ServeContent(w, r, "", sliceModTime, bytes.NewReader(obj))
}

// sliceBodyNote is how the slice backend records a request body: its
// Content-Length ("-" for none), length and checksum.
func sliceBodyNote(cl string, body []byte) string {
	if cl == "" {
		cl = "-"
	}
	return fmt.Sprintf("cl=%s body=%d/%08x", cl, len(body), crc32.ChecksumIEEE(body))
}

// take returns the requests seen since the last call.
func (b *sliceBackend) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen
	b.seen = nil
	return s
}

// sliceAnswer is a response as a client read it; cut reports a body that
// ended before its Content-Length (or no response at all: status 0).
type sliceAnswer struct {
	status int
	header http.Header
	body   []byte
	cut    bool
}

// sliceAsk sends one request on conn (nil: a new connection, closed after)
// and reads the answer.
func sliceAsk(t *testing.T, addr string, conn net.Conn, br *bufio.Reader, method, target string, fields ...string) sliceAnswer {
	t.Helper()
	return sliceSend(t, addr, conn, br, method, target, nil, fields...)
}

// sliceSend is sliceAsk with a request body: body is sent as it is after
// the head (the fields give its framing).
func sliceSend(t *testing.T, addr string, conn net.Conn, br *bufio.Reader, method, target string, body []byte, fields ...string) sliceAnswer {
	t.Helper()
	if conn == nil {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conn, br = c, bufio.NewReader(c)
		fields = append(fields, "Connection: close")
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: slice.test\r\n"
	for _, f := range fields {
		req += f + "\r\n"
	}
	if _, err := conn.Write(append([]byte(req+"\r\n"), body...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return sliceAnswer{cut: true}
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return sliceAnswer{status: resp.StatusCode, header: resp.Header, body: got, cut: err != nil}
}

// startSliceServer runs fulcrum with slice 1000 before a sliceBackend:
// /nc/ without a cache, / with one; it returns the address, the backend
// and the error log's path.
func startSliceServer(t *testing.T) (string, *sliceBackend, string) {
	t.Helper()
	be := &sliceBackend{}
	srv := httptest.NewServer(be)
	t.Cleanup(srv.Close)
	be.addr = srv.Listener.Addr().String()
	dir := t.TempDir()
	conf := strings.NewReplacer("DIR", dir, "BACKEND", srv.Listener.Addr().String()).Replace(`
error_log DIR/error.log notice;
pid DIR/fulcrum.pid;
http {
    log_format slice '$request_method $request_uri "$http_range" $status $body_bytes_sent "$slice_range"';
    access_log DIR/access.log slice buffer=0;
    client_max_body_size 4m;
    proxy_cache_path DIR/cache levels=1:2 keys_zone=cache:1m;
    server {
        listen 127.0.0.1:0;
        slice 1000;
        location / {
            proxy_cache cache;
            proxy_cache_key $uri$is_args$args$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;
            add_header X-Cache $upstream_cache_status;
            add_header X-Slice "[$slice_range]";
            proxy_pass http://BACKEND;
        }
        location /nc/ {
            proxy_set_header Range $slice_range;
            proxy_pass http://BACKEND/;
        }
        location /off/ {
            slice 0;
            proxy_set_header Range $slice_range;
            add_header X-Slice "[$slice_range]";
            proxy_pass http://BACKEND/;
        }
        location /novar/ {
            proxy_pass http://BACKEND/;
        }
        location /ep/ {
            proxy_set_header Range $slice_range;
            error_page 416 /err416;
            proxy_pass http://BACKEND/;
        }
        location = /err416 { return 200 "custom 416\n"; }
    }
}`)
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, path)
	return addr, be, filepath.Join(dir, "error.log")
}

// TestSlice checks the slice module's answers and the slices it fetches
// against what nginx 1.22.1 answered and fetched for the same requests
// (slice 1000, an object of 3500 bytes unless the path says otherwise).
func TestSlice(t *testing.T) {
	addr, be, errLog := startSliceServer(t)
	obj := sliceObject(3500)
	whole := []string{"GET /f/3500 bytes=0-999", "GET /f/3500 bytes=1000-1999", "GET /f/3500 bytes=2000-2999", "GET /f/3500 bytes=3000-3999"}
	tests := []struct {
		name, method, target string
		fields               []string
		status               int
		body                 []byte // nil: none
		contentRange         string
		acceptRanges         bool
		etag                 string
		upstream             []string
	}{
		{"whole", "GET", "/nc/f/3500", nil, 200, obj, "", true, `"v1"`, whole},
		{"a multiple of the size", "GET", "/nc/f/3000", nil, 200, obj[:3000], "", true, `"v1"`,
			[]string{"GET /f/3000 bytes=0-999", "GET /f/3000 bytes=1000-1999", "GET /f/3000 bytes=2000-2999"}},
		{"under one slice", "GET", "/nc/f/500", nil, 200, obj[:500], "", true, `"v1"`, []string{"GET /f/500 bytes=0-999"}},
		{"in the first slice", "GET", "/nc/f/3500", []string{"Range: bytes=100-200"}, 206, obj[100:201], "bytes 100-200/3500", false, `"v1"`,
			[]string{"GET /f/3500 bytes=0-999"}},
		{"in the second slice", "GET", "/nc/f/3500", []string{"Range: bytes=1100-1200"}, 206, obj[1100:1201], "bytes 1100-1200/3500", false, `"v1"`,
			[]string{"GET /f/3500 bytes=1000-1999"}},
		{"across slices", "GET", "/nc/f/3500", []string{"Range: bytes=900-2100"}, 206, obj[900:2101], "bytes 900-2100/3500", false, `"v1"`,
			whole[:3]},
		{"suffix", "GET", "/nc/f/3500", []string{"Range: bytes=-300"}, 206, obj[3200:], "bytes 3200-3499/3500", false, `"v1"`,
			[]string{whole[0], whole[3]}},
		{"suffix across", "GET", "/nc/f/3500", []string{"Range: bytes=-1300"}, 206, obj[2200:], "bytes 2200-3499/3500", false, `"v1"`,
			[]string{whole[0], whole[2], whole[3]}},
		{"open", "GET", "/nc/f/3500", []string{"Range: bytes=2500-"}, 206, obj[2500:], "bytes 2500-3499/3500", false, `"v1"`, whole[2:]},
		{"unit in capitals", "GET", "/nc/f/3500", []string{"Range: BYTES=1500-1600"}, 206, obj[1500:1601], "bytes 1500-1600/3500", false, `"v1"`,
			whole[1:2]},
		{"several ranges", "GET", "/nc/f/3500", []string{"Range: bytes=0-0,2000-2001"}, 200, obj, "", true, `"v1"`, whole},
		{"another unit", "GET", "/nc/f/3500", []string{"Range: items=1500-1600"}, 200, obj, "", true, `"v1"`, whole},
		{"past the end", "GET", "/nc/f/3500", []string{"Range: bytes=3500-"}, 416, nil, "bytes */3500", false, "", whole[3:]},
		{"malformed", "GET", "/nc/f/3500", []string{"Range: bytes=abc"}, 416, nil, "bytes */3500", false, "", whole[:1]},
		{"if-range matches", "GET", "/nc/f/3500", []string{"Range: bytes=1500-1600", `If-Range: "v1"`}, 206, obj[1500:1601], "bytes 1500-1600/3500", false, `"v1"`,
			[]string{whole[0] + " if-range", whole[1] + " if-range"}},
		{"if-range date matches", "GET", "/nc/f/3500", []string{"Range: bytes=1500-1600", "If-Range: Tue, 02 Jan 2024 03:04:05 GMT"}, 206, obj[1500:1601], "bytes 1500-1600/3500", false, `"v1"`,
			[]string{whole[0] + " if-range", whole[1] + " if-range"}},
		// The upstream sees the If-Range too and answers 200: passed on,
		// with its own Accept-Ranges.
		{"if-range differs", "GET", "/nc/f/3500", []string{"Range: bytes=1500-1600", `If-Range: "v0"`}, 200, obj, "", true, `"v1"`,
			[]string{whole[0] + " if-range"}},
		{"head", "HEAD", "/nc/f/3500", nil, 200, nil, "", true, `"v1"`, []string{"HEAD /f/3500 bytes=0-999"}},
		{"head of a range", "HEAD", "/nc/f/3500", []string{"Range: bytes=1500-1600"}, 206, nil, "bytes 1500-1600/3500", false, `"v1"`,
			[]string{"HEAD /f/3500 bytes=1000-1999"}},
		{"no ranges upstream", "GET", "/nc/norange/3500", []string{"Range: bytes=1500-1600"}, 200, obj, "", false, `"v1"`,
			[]string{"GET /norange/3500 bytes=1000-1999"}},
		{"upstream 404", "GET", "/nc/missing", nil, 404, nil, "", false, "", []string{"GET /missing bytes=0-999"}},
		{"slice 0", "GET", "/off/f/3500", []string{"Range: bytes=100-200"}, 200, obj, "", true, `"v1"`, []string{"GET /f/3500 -"}},
		{"no $slice_range", "GET", "/novar/f/3500", []string{"Range: bytes=100-200"}, 206, obj[100:201], "bytes 100-200/3500", true, `"v1"`,
			[]string{"GET /f/3500 bytes=100-200"}},
		{"error_page 416", "GET", "/ep/f/3500", []string{"Range: bytes=3500-"}, 416, []byte("custom 416\n"), "bytes */3500", false, `"v1"`, whole[3:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be.take()
			a := sliceAsk(t, addr, nil, nil, tt.method, tt.target, tt.fields...)
			if a.status != tt.status || a.cut {
				t.Fatalf("status %d (cut %v), want %d", a.status, a.cut, tt.status)
			}
			if tt.body != nil && !bytes.Equal(a.body, tt.body) {
				t.Errorf("body of %d bytes, want %d", len(a.body), len(tt.body))
			}
			if tt.method == "HEAD" || tt.status == 206 || tt.status == 200 {
				want := len(tt.body)
				if tt.method == "HEAD" {
					want = 3500
					if tt.status == 206 {
						want = 101
					}
				}
				if got := a.header.Get("Content-Length"); got != strconv.Itoa(want) {
					t.Errorf("Content-Length %q, want %d", got, want)
				}
			}
			if got := a.header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if got := a.header.Get("Accept-Ranges") == "bytes"; got != tt.acceptRanges {
				t.Errorf("Accept-Ranges %q, want it %v", a.header.Get("Accept-Ranges"), tt.acceptRanges)
			}
			if got := a.header.Get("ETag"); got != tt.etag {
				t.Errorf("ETag %q, want %q", got, tt.etag)
			}
			if got := be.take(); !slices.Equal(got, tt.upstream) {
				t.Errorf("upstream got\n%q\nwant\n%q", got, tt.upstream)
			}
			if tt.target == "/off/f/3500" && a.header.Get("X-Slice") != "[]" {
				t.Errorf("X-Slice %q under slice 0", a.header.Get("X-Slice"))
			}
		})
	}

	// A slice that fails the checks ends the connection, the response cut
	// short, and is logged with nginx's words.
	accessLog := filepath.Join(filepath.Dir(errLog), "access.log")
	failures := []struct {
		name, target string
		upstream     int // requests the upstream got
		log          string
		// access is the main request's access log line, "" not checked:
		// $slice_range is the range of the slice that failed, as in
		// nginx 1.22.1; $body_bytes_sent counts the first slice, which
		// fulcrum sent (nginx may have held it back: 0 bytes then).
		access string
	}{
		{"etag mismatch", "/nc/etag/3500", 2, "etag mismatch in slice response while reading response header from upstream", ""},
		{"status", "/nc/e500/3500", 2, "unexpected status code 500 in slice response while reading response header from upstream", ""},
		{"range", "/nc/shift/3500", 2, "unexpected range in slice response: 1001-2000 while reading response header from upstream", ""},
		{"no total", "/nc/star/3500", 2, "no complete length in slice response while reading response header from upstream", ""},
		{"first slice", "/nc/badfirst/3500", 1, "invalid range in slice response while reading response header from upstream", ""},
		// The whole line: the upstream that answered is named, as in
		// nginx (a proxy_pass without a URI, whose URI is the client's).
		{"status, upstream named", "/e500/3500?u", 2, `unexpected status code 500 in slice response while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /e500/3500?u HTTP/1.1", subrequest: "/e500/3500", upstream: "http://` + be.addr + `/e500/3500?u", host: "slice.test"`,
			`GET /e500/3500?u "-" 200 1000 "bytes=1000-1999"`},
		// With a URI in proxy_pass (location /nc/ { proxy_pass
		// http://BACKEND/; }) the URI is the one sent upstream, the
		// location's prefix replaced, as nginx 1.22.1 logged it:
		// upstream: "http://127.0.0.1:18638/e500/3500?v".
		{"status, URI sent upstream named", "/nc/e500/3500?v", 2, `unexpected status code 500 in slice response while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /nc/e500/3500?v HTTP/1.1", subrequest: "/nc/e500/3500", upstream: "http://` + be.addr + `/e500/3500?v", host: "slice.test"`, ""},
		{"first slice, upstream named", "/badfirst/3500?u", 1, `invalid range in slice response while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /badfirst/3500?u HTTP/1.1", upstream: "http://` + be.addr + `/badfirst/3500?u", host: "slice.test"`, ""},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			be.take()
			a := sliceAsk(t, addr, nil, nil, "GET", tt.target)
			if !a.cut {
				t.Fatalf("a whole answer: %d, %d bytes", a.status, len(a.body))
			}
			if strings.HasPrefix(tt.name, "first slice") && a.status != 0 {
				t.Errorf("an answer (%d) to a first slice that failed", a.status)
			}
			if a.status == 200 && !bytes.Equal(a.body, obj[:len(a.body)]) {
				t.Error("the bytes before the cut are not the object's")
			}
			if got := be.take(); len(got) != tt.upstream {
				t.Errorf("upstream got %q, want %d requests", got, tt.upstream)
			}
			waitForLog(t, errLog, "error "+tt.log)
			if tt.access != "" {
				waitForAccess(t, accessLog, tt.access)
			}
		})
	}
}

// waitForAccess polls the access log at path until it has the line want.
func waitForAccess(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if slices.Contains(strings.Split(string(b), "\n"), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line %q in\n%s", want, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSliceRequestBody checks the slices of a request with a body, as
// nginx 1.22.1 fetched them: every slice subrequest keeps the method and
// sends the client's body again, with its Content-Length (a chunked one
// too); the client gets the object's bytes as for a GET.
func TestSliceRequestBody(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	addr, be, errLog := startSliceServer(t)
	accessLog := filepath.Join(filepath.Dir(errLog), "access.log")
	obj := sliceObject(3500)
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // past what is kept in memory
	tests := []struct {
		name, method, target string
		fields               []string
		body                 []byte // as sent, framing included
		status               int
		want                 []byte
		note                 string   // the body every request upstream got
		ranges               []string // the Range of each
	}{
		{"post", "POST", "/nc/f/2500?1", []string{"Content-Length: 5"}, []byte("hello"), 200, obj[:2500],
			sliceBodyNote("5", []byte("hello")), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
		{"post a range", "POST", "/nc/f/3500?2", []string{"Content-Length: 5", "Range: bytes=1500-2600"}, []byte("hello"), 206, obj[1500:2601],
			sliceBodyNote("5", []byte("hello")), []string{"bytes=1000-1999", "bytes=2000-2999"}},
		{"put", "PUT", "/nc/f/2500?3", []string{"Content-Length: 5"}, []byte("hello"), 200, obj[:2500],
			sliceBodyNote("5", []byte("hello")), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
		{"chunked", "POST", "/nc/f/2500?4", []string{"Transfer-Encoding: chunked"}, []byte("5\r\nhello\r\n0\r\n\r\n"), 200, obj[:2500],
			sliceBodyNote("5", []byte("hello")), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
		{"empty", "POST", "/nc/f/2500?5", []string{"Content-Length: 0"}, nil, 200, obj[:2500],
			sliceBodyNote("0", nil), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
		{"get with a body", "GET", "/nc/f/2500?6", []string{"Content-Length: 3"}, []byte("abc"), 200, obj[:2500],
			sliceBodyNote("3", []byte("abc")), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
		// A body past client_body_buffer_size, read from its temporary
		// file for each slice, with its length as nginx sends it.
		{"large", "POST", "/nc/f/2500?7", []string{"Content-Length: " + strconv.Itoa(len(big))}, big, 200, obj[:2500],
			sliceBodyNote(strconv.Itoa(len(big)), big), []string{"bytes=0-999", "bytes=1000-1999", "bytes=2000-2999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be.take()
			a := sliceSend(t, addr, nil, nil, tt.method, tt.target, tt.body, tt.fields...)
			if a.status != tt.status || a.cut {
				t.Fatalf("status %d (cut %v), want %d", a.status, a.cut, tt.status)
			}
			if !bytes.Equal(a.body, tt.want) {
				t.Errorf("body of %d bytes, want %d", len(a.body), len(tt.want))
			}
			var want []string
			for _, r := range tt.ranges {
				want = append(want, tt.method+" "+strings.TrimPrefix(tt.target, "/nc")+" "+r+" "+tt.note)
			}
			if got := be.take(); !slices.Equal(got, want) {
				t.Errorf("upstream got\n%q\nwant\n%q", got, want)
			}
			rng := "-"
			for _, f := range tt.fields {
				if v, ok := strings.CutPrefix(f, "Range: "); ok {
					rng = v
				}
			}
			waitForAccess(t, accessLog, fmt.Sprintf(`%s %s "%s" %d %d "-"`, tt.method, tt.target, rng, tt.status, len(tt.want)))
		})
	}
}

// TestSliceCache checks slices cached one by one, as nginx 1.22.1 cached
// them: a range fills the slices it needs, a whole request then fetches
// only the others, and the cache's not-modified filter answers the whole
// object's validators. The requests share a connection, which a sliced
// response leaves usable.
func TestSliceCache(t *testing.T) {
	addr, be, _ := startSliceServer(t)
	obj := sliceObject(3500)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	steps := []struct {
		name, method, target string
		fields               []string
		status               int
		body                 []byte
		cache, slice         string // X-Cache, X-Slice
		upstream             []string
	}{
		{"range", "GET", "/f/3500?b", []string{"Range: bytes=1100-2200"}, 206, obj[1100:2201], "MISS", "[bytes=1000-1999]",
			[]string{"GET /f/3500?b bytes=1000-1999", "GET /f/3500?b bytes=2000-2999"}},
		{"whole", "GET", "/f/3500?b", nil, 200, obj, "MISS", "[bytes=0-999]",
			[]string{"GET /f/3500?b bytes=0-999", "GET /f/3500?b bytes=3000-3999"}},
		{"again", "GET", "/f/3500?b", nil, 200, obj, "HIT", "[bytes=0-999]", nil},
		{"range again", "GET", "/f/3500?b", []string{"Range: bytes=-1300"}, 206, obj[2200:], "HIT", "[bytes=0-999]", nil},
		{"if-none-match", "GET", "/f/3500?b", []string{`If-None-Match: "v1"`}, 304, nil, "HIT", "[bytes=0-999]", nil},
		{"if-modified-since", "GET", "/f/3500?b", []string{"If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT"}, 304, nil, "HIT", "[bytes=0-999]", nil},
		{"head", "HEAD", "/f/3500?c", nil, 200, nil, "MISS", "[bytes=0-999]", []string{"GET /f/3500?c bytes=0-999"}},
		{"after head", "GET", "/f/3500?c", nil, 200, obj, "HIT", "[bytes=0-999]",
			[]string{"GET /f/3500?c bytes=1000-1999", "GET /f/3500?c bytes=2000-2999", "GET /f/3500?c bytes=3000-3999"}},
		{"no ranges upstream", "GET", "/norange/3500?d", []string{"Range: bytes=1100-2200"}, 200, obj, "MISS", "[]",
			[]string{"GET /norange/3500?d bytes=1000-1999"}},
		// A range past the end: the slice fetched for it is not cached
		// (nginx finalizes the request with the range filter's 416), so
		// the next request fetches it again.
		{"past the end", "GET", "/f/3500?e", []string{"Range: bytes=3600-"}, 416, nil, "MISS", "[bytes=3000-3999]",
			[]string{"GET /f/3500?e bytes=3000-3999"}},
		{"after 416", "GET", "/f/3500?e", []string{"Range: bytes=3000-"}, 206, obj[3000:], "MISS", "[bytes=3000-3999]",
			[]string{"GET /f/3500?e bytes=3000-3999"}},
		{"cached then", "GET", "/f/3500?e", []string{"Range: bytes=3000-"}, 206, obj[3000:], "HIT", "[bytes=3000-3999]", nil},
		{"past the end, cached", "GET", "/f/3500?e", []string{"Range: bytes=3600-"}, 416, nil, "HIT", "[bytes=3000-3999]", nil},
		{"still cached", "GET", "/f/3500?e", []string{"Range: bytes=3000-"}, 206, obj[3000:], "HIT", "[bytes=3000-3999]", nil},
	}
	for _, s := range steps {
		a := sliceAsk(t, addr, conn, br, s.method, s.target, s.fields...)
		if a.status != s.status || a.cut {
			t.Fatalf("%s: status %d (cut %v), want %d", s.name, a.status, a.cut, s.status)
		}
		if s.body != nil && !bytes.Equal(a.body, s.body) {
			t.Errorf("%s: body of %d bytes, want %d", s.name, len(a.body), len(s.body))
		}
		if got := a.header.Get("X-Cache") + " " + a.header.Get("X-Slice"); got != s.cache+" "+s.slice {
			t.Errorf("%s: X-Cache and X-Slice %q, want %q", s.name, got, s.cache+" "+s.slice)
		}
		if s.status == 304 && (a.header.Get("Content-Range") != "" || a.header.Get("ETag") != `"v1"`) {
			t.Errorf("%s: 304 with Content-Range %q, ETag %q", s.name, a.header.Get("Content-Range"), a.header.Get("ETag"))
		}
		if got := be.take(); !slices.Equal(got, s.upstream) {
			t.Errorf("%s: upstream got\n%q\nwant\n%q", s.name, got, s.upstream)
		}
	}
}

// TestSliceRangeSet: set may not change $slice_range (nginx 1.22.1: the
// duplicate "slice_range" variable).
func TestSliceRangeSet(t *testing.T) {
	checkServerLine(t, `set $slice_range "x";`, `the duplicate "slice_range" variable in `)
}
