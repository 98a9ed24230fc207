package daemon_test

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// testImage encodes a w x h gradient as a jpeg, png or gif.
func testImage(t *testing.T, format string, w, h int) []byte {
	return testutil.Image(t, format, w, h)
}

// TestImageFilter checks image_filter's answers against nginx 1.22.1's
// (recorded with its image filter module over the same kinds of files,
// static and proxied): status, Content-Type, Content-Length, ETag,
// Accept-Ranges and the answer's width and height; the pixels are not
// compared (libgd resamples otherwise).
func TestImageFilter(t *testing.T) {
	t.Parallel() // its own daemon and backends; no upper time bound
	dir := t.TempDir()
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	files := map[string][]byte{
		"a.jpg": testImage(t, "jpeg", 300, 200), "b.png": testImage(t, "png", 200, 300),
		"a.gif": testImage(t, "gif", 300, 200), "c.jpg": testImage(t, "jpeg", 100, 100),
		"text.jpg": []byte("hello, this is not an image at all\n"),
	}
	for name, b := range files {
		writeDated(t, filepath.Join(dir, "www", name), b, mod)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := files[filepath.Base(r.URL.Path)]
		w.Header().Set("Content-Type", "text/html") // the filter looks at the bytes
		w.Header().Set("X-Up", "1")
		if r.URL.Query().Has("chunked") {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			for i := 0; i < len(b); i += 500 {
				_, _ = w.Write(b[i:min(i+500, len(b))])
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if s := r.URL.Query().Get("st"); s != "" {
			n, _ := strconv.Atoi(s)
			w.WriteHeader(n)
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(up.Close)
	conf := strings.NewReplacer("DIR", dir, "UP", up.Listener.Addr().String()).Replace(`
error_log DIR/error.log notice;
pid DIR/fulcrum.pid;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root DIR/www;
        location /size/ { alias DIR/www/; image_filter size; }
        location /test/ { alias DIR/www/; image_filter test; }
        location /r/ { alias DIR/www/; image_filter resize 150 150; }
        location /rw/ { alias DIR/www/; image_filter resize 150 -; }
        location /c/ { alias DIR/www/; image_filter crop 50 20; }
        location /rot/ { alias DIR/www/; image_filter rotate 90; image_filter resize 150 150; }
        location /var/ { alias DIR/www/; image_filter resize $arg_w $arg_h; }
        location /small/ { alias DIR/www/; image_filter_buffer 2k; image_filter resize 10 10; }
        location /q/ { alias DIR/www/; image_filter_jpeg_quality $arg_q; image_filter resize 150 150; }
        location /p/ { proxy_pass http://UP/; image_filter resize 150 150; }
        location /psmall/ { proxy_pass http://UP/; image_filter_buffer 2k; image_filter resize 10 10; }
        location /e/ { alias DIR/www/; image_filter test; error_page 415 =200 /fine.txt; }
        location /psize/ { proxy_pass http://UP/; image_filter size; }
        location /pe/ { proxy_pass http://UP/; image_filter resize 150 150; error_page 415 =200 /fine.txt; }
        location = /ret { image_filter size; return 200 "abc"; }
        location = /fine.txt { return 200 "fine\n"; }
        location /off/ { alias DIR/www/; }
    }
}`)
	confPath := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFile(t, confPath)
	tag := func(name string) string { return fmt.Sprintf(`"%x-%x"`, mod.Unix(), len(files[name])) }
	json := func(w, h int, typ string) string {
		return fmt.Sprintf("{ \"img\" : { \"width\": %d, \"height\": %d, \"type\": \"%s\" } }\r\n", w, h, typ)
	}
	tests := []struct {
		name, method, target string
		code                 int
		ctype                string
		want                 string // the image's "jpeg 150x100", or the body
		etag                 string // "-" for none
		xUp                  bool
	}{
		{"size jpeg", "GET", "/size/a.jpg", 200, "application/json", json(300, 200, "jpeg"), "-", false},
		{"size gif", "GET", "/size/a.gif", 200, "application/json", json(300, 200, "gif"), "-", false},
		{"size text", "GET", "/size/text.jpg", 200, "application/json", "{}\r\n", "-", false},
		{"size of a 404", "GET", "/size/none.jpg", 200, "application/json", "{}\r\n", "-", false},
		{"test image", "GET", "/test/a.jpg", 200, "image/jpeg", "jpeg 300x200", tag("a.jpg"), false},
		{"test text", "GET", "/test/text.jpg", 415, "text/html", "", "-", false},
		{"test 404", "GET", "/test/none.jpg", 415, "text/html", "", "-", false},
		{"resize", "GET", "/r/a.jpg", 200, "image/jpeg", "jpeg 150x100", "W/" + tag("a.jpg"), false},
		{"resize png", "GET", "/r/b.png", 200, "image/png", "png 100x150", "W/" + tag("b.png"), false},
		{"resize gif", "GET", "/r/a.gif", 200, "image/gif", "gif 150x100", "W/" + tag("a.gif"), false},
		{"resize fits", "GET", "/r/c.jpg", 200, "image/jpeg", "jpeg 100x100", tag("c.jpg"), false},
		{"HEAD resize", "HEAD", "/r/a.jpg", 200, "image/jpeg", "", "W/" + tag("a.jpg"), false},
		{"width only", "GET", "/rw/b.png", 200, "image/png", "png 150x225", "W/" + tag("b.png"), false},
		{"crop", "GET", "/c/b.png", 200, "image/png", "png 50x20", "W/" + tag("b.png"), false},
		{"rotate and resize", "GET", "/rot/a.jpg", 200, "image/jpeg", "jpeg 100x150", "W/" + tag("a.jpg"), false},
		{"variables", "GET", "/var/a.jpg?w=100&h=100", 200, "image/jpeg", "jpeg 100x66", "W/" + tag("a.jpg"), false},
		{"variable dash", "GET", "/var/a.jpg?w=-&h=50", 200, "image/jpeg", "jpeg 75x50", "W/" + tag("a.jpg"), false},
		{"variable empty", "GET", "/var/a.jpg?h=50", 415, "text/html", "", "-", false},
		{"variable fits", "GET", "/var/a.jpg?w=500&h=500", 200, "image/jpeg", "jpeg 300x200", tag("a.jpg"), false},
		{"too big", "GET", "/small/a.jpg", 415, "text/html", "", "-", false},
		{"quality", "GET", "/q/a.jpg?q=5", 200, "image/jpeg", "jpeg 150x100", "W/" + tag("a.jpg"), false},
		{"quality 0", "GET", "/q/a.jpg?q=0", 415, "text/html", "", "-", false},
		{"proxied", "GET", "/p/a.jpg", 200, "image/jpeg", "jpeg 150x100", "-", true},
		{"proxied chunked", "GET", "/p/a.jpg?chunked", 200, "image/jpeg", "jpeg 150x100", "-", true},
		{"proxied 404 keeps its status", "GET", "/p/a.jpg?st=404", 404, "image/jpeg", "jpeg 150x100", "-", true},
		{"proxied text", "GET", "/p/text.jpg", 415, "text/html", "", "-", false},
		{"proxied too big by length keeps fields", "GET", "/psmall/a.jpg", 415, "text/html", "", "-", true},
		{"proxied too big chunked", "GET", "/psmall/a.jpg?chunked", 415, "text/html", "", "-", false},
		{"error_page 415", "GET", "/e/text.jpg", 200, "text/plain", "fine\n", "-", false},
		// A HEAD answer without a body (proxied, return) is filtered as an
		// empty body, as nginx 1.22.1 does (recorded): no image.
		{"HEAD proxied resize", "HEAD", "/p/a.jpg", 415, "text/html", "", "-", false},
		{"HEAD proxied size", "HEAD", "/psize/a.jpg", 200, "application/json", "", "-", false},
		{"HEAD proxied error_page 415", "HEAD", "/pe/a.jpg", 200, "text/plain", "", "-", false},
		{"HEAD return size", "HEAD", "/ret", 200, "application/json", "", "-", false},
		{"off", "GET", "/off/a.jpg", 200, "image/jpeg", "jpeg 300x200", tag("a.jpg"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Range", "bytes=0-9"} // ignored under image_filter, as nginx
			if strings.HasPrefix(tc.target, "/off/") {
				hdr = nil
			}
			resp, b := fetchWith(t, tc.method, "http://"+addr+tc.target, hdr...)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.code, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			etag := resp.Header.Get("Etag")
			if etag == "" {
				etag = "-"
			}
			if tc.etag != etag {
				t.Errorf("ETag %q, want %q", etag, tc.etag)
			}
			if got := resp.Header.Get("X-Up") == "1"; got != tc.xUp {
				t.Errorf("X-Up kept %v, want %v", got, tc.xUp)
			}
			if got := resp.Header.Get("Accept-Ranges"); got != "" && !strings.HasPrefix(tc.target, "/off/") {
				t.Errorf("Accept-Ranges %q", got)
			}
			if tc.method == "HEAD" {
				if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n == len(files["a.jpg"]) || n == 0 {
					t.Errorf("HEAD Content-Length %d: not the filtered image's", n)
				}
				return
			}
			if tc.code == 415 {
				return
			}
			got := string(b)
			if strings.HasPrefix(tc.ctype, "image/") {
				cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("answer does not decode: %v", err)
				}
				got = fmt.Sprintf("%s %dx%d", format, cfg.Width, cfg.Height)
			}
			if got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(b)) {
				t.Errorf("Content-Length %q for %d bytes", cl, len(b))
			}
		})
	}
}

// TestImageFilterTooBigAnswersAtOnce checks a body of unknown length that
// passes image_filter_buffer: nginx 1.22.1 answers 415 as soon as it does
// and stops reading the upstream (recorded: a backend that sends 2 KiB of a
// chunked PNG and then stalls, image_filter_buffer 1k, with and without
// proxy_buffering: 415 at once). The rest of the body is never waited for.
func TestImageFilterTooBigAnswersAtOnce(t *testing.T) {
	release := make(chan struct{})
	gone := make(chan struct{}, 3)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("x"), 2040)...))
		w.(http.Flusher).Flush()
		select { // a stream that does not end
		case <-release:
		case <-r.Context().Done():
			gone <- struct{}{}
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server {
        listen 127.0.0.1:0;
        location /b/ { proxy_pass http://%[1]s/; image_filter_buffer 1k; image_filter resize 10 10; }
        location /u/ { proxy_pass http://%[1]s/; proxy_buffering off; image_filter_buffer 1k; image_filter resize 10 10; }
        location /e/ { proxy_pass http://%[1]s/; image_filter_buffer 1k; image_filter size; error_page 415 = /fine; }
        location = /fine { return 200 "fine"; }
    }`, up.Listener.Addr().String()))
	client := &http.Client{Timeout: 3 * time.Second}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/b/x.png", 415, ""},
		{"/u/x.png", 415, ""},
		{"/e/x.png", 200, "fine"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatalf("no answer while the body goes on: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || tc.body != "" && string(b) != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tc.code, tc.body)
			}
			select { // the upstream's connection is given up, as nginx's
			case <-gone:
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream is still read")
			}
		})
	}
}

// TestImageFilterFields checks the header fields of image_filter's answers
// against nginx 1.22.1's, recorded with a file and with a Python upstream
// that sends Accept-Ranges, ETag, Last-Modified, Content-Length,
// Cache-Control and Expires, for GET, HEAD and a Range request: a
// transformed or passed image (resize, crop, rotate, test, an image that
// fits) keeps every field of the upstream's, its Accept-Ranges too, with
// a weak ETag when transformed; a file's gets no Accept-Ranges (the
// filter clears allow_ranges); size answers bare JSON; the Range goes to
// the upstream and the whole image comes back; a proxied HEAD has no body
// to filter (415, "{}" for size) unless it goes through the cache, whose
// body is filtered (200 with the filtered image's fields, miss and hit).
func TestImageFilterFields(t *testing.T) {
	t.Parallel() // its own daemon and backends; no upper time bound
	dir := t.TempDir()
	mod := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	img := testImage(t, "jpeg", 300, 200)
	writeDated(t, filepath.Join(dir, "www", "a.jpg"), img, mod)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := img
		h := w.Header()
		h.Set("Content-Type", "image/jpeg")
		h.Set("Accept-Ranges", "bytes")
		h.Set("Etag", `"up-etag"`)
		h.Set("Last-Modified", "Thu, 02 Jan 2020 03:04:05 GMT")
		h.Set("Cache-Control", "max-age=60")
		h.Set("Expires", "Thu, 01 Jan 2037 00:00:00 GMT")
		code := http.StatusOK
		if r.URL.Query().Has("honor") && r.Header.Get("Range") == "bytes=0-9" {
			b, code = b[:10], http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes 0-9/%d", len(img)))
		}
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(up.Close)
	var locs strings.Builder
	for _, op := range []struct{ name, filter string }{
		{"resize", "resize 150 150"}, {"crop", "crop 50 20"}, {"rotate", "rotate 90"},
		{"size", "size"}, {"test", "test"}, {"fit", "resize 500 500"},
	} {
		fmt.Fprintf(&locs, "location /s/%s/ { alias %s/www/; image_filter %s; }\n", op.name, dir, op.filter)
		fmt.Fprintf(&locs, "location /p/%s/ { proxy_pass http://%s/; image_filter %s; }\n", op.name, up.Listener.Addr(), op.filter)
	}
	// With a cache, or proxy_force_ranges, nginx's upstream module drops
	// the upstream's Accept-Ranges for its range filter, which the image
	// filter stops: none (recorded, a miss and a hit).
	fmt.Fprintf(&locs, "location /pc/resize/ { proxy_pass http://%s/; proxy_cache z; proxy_cache_valid 1m; image_filter resize 150 150; }\n", up.Listener.Addr())
	fmt.Fprintf(&locs, "location /pf/resize/ { proxy_pass http://%s/; proxy_force_ranges on; image_filter resize 150 150; }\n", up.Listener.Addr())
	addr := startDaemon(t, dir, fmt.Sprintf("access_log off;\nproxy_cache_path %s/cache keys_zone=z:1m;\nserver {\nlisten 127.0.0.1:0;\n%s}", dir, locs.String()))
	fileTag := fmt.Sprintf(`"%x-%x"`, mod.Unix(), len(img))
	const upMod, upCC, upExp = "Thu, 02 Jan 2020 03:04:05 GMT", "max-age=60", "Thu, 01 Jan 2037 00:00:00 GMT"
	fileMod := mod.Format(http.TimeFormat)
	type fields struct{ code, ctype, ranges, etag, mod, cc, exp string }
	file := func(etag string) fields { return fields{"200", "image/jpeg", "", etag, fileMod, "", ""} }
	proxied := func(etag string) fields { return fields{"200", "image/jpeg", "bytes", etag, upMod, upCC, upExp} }
	noRanges := func(etag string) fields { f := proxied(etag); f.ranges = ""; return f }
	json := fields{"200", "application/json", "", "", "", "", ""}
	refused := fields{"415", "text/html", "", "", "", "", ""}
	tests := []struct {
		path string
		want fields
		head fields // HEAD's fields
		size string // the answer's "WxH", "json" or "" (no body)
	}{
		{"/s/resize/a.jpg", file("W/" + fileTag), file("W/" + fileTag), "150x100"},
		{"/s/crop/a.jpg", file("W/" + fileTag), file("W/" + fileTag), "50x20"},
		{"/s/rotate/a.jpg", file("W/" + fileTag), file("W/" + fileTag), "200x300"},
		{"/s/size/a.jpg", json, json, "json"},
		{"/s/test/a.jpg", file(fileTag), file(fileTag), "300x200"},
		{"/s/fit/a.jpg", file(fileTag), file(fileTag), "300x200"},
		{"/p/resize/a.jpg", proxied(`W/"up-etag"`), refused, "150x100"},
		{"/p/crop/a.jpg", proxied(`W/"up-etag"`), refused, "50x20"},
		{"/p/rotate/a.jpg", proxied(`W/"up-etag"`), refused, "200x300"},
		{"/p/size/a.jpg", json, json, "json"},
		{"/p/test/a.jpg", proxied(`"up-etag"`), refused, "300x200"},
		{"/p/fit/a.jpg", proxied(`"up-etag"`), refused, "300x200"},
		// A HEAD through the cache has the body all the same (a miss asks
		// the upstream for GET, a hit reads the entry): nginx filters it.
		{"/pc/resize/a.jpg", noRanges(`W/"up-etag"`), noRanges(`W/"up-etag"`), "150x100"},
		{"/pc/resize/a.jpg", noRanges(`W/"up-etag"`), noRanges(`W/"up-etag"`), "150x100"},
		{"/pf/resize/a.jpg", noRanges(`W/"up-etag"`), refused, "150x100"},
		// An upstream that answers the Range: ten bytes are no image.
		{"/p/resize/a.jpg?honor", refused, refused, ""},
		{"/p/size/a.jpg?honor", json, json, ""},
	}
	for _, tc := range tests {
		for _, method := range []string{"HEAD", "GET", "Range"} { // HEAD first: a cache miss
			t.Run(tc.path+" "+method, func(t *testing.T) {
				want := tc.want
				var hdr []string
				switch method {
				case "HEAD":
					want = tc.head
				case "Range":
					hdr = []string{"Range", "bytes=0-9"}
				}
				if strings.HasSuffix(tc.path, "?honor") && method != "Range" {
					t.Skip("the upstream cuts a Range request only")
				}
				resp, b := fetchWith(t, strings.Replace(method, "Range", "GET", 1), "http://"+addr+tc.path, hdr...)
				h := resp.Header
				got := fields{strconv.Itoa(resp.StatusCode), h.Get("Content-Type"), h.Get("Accept-Ranges"), h.Get("Etag"),
					h.Get("Last-Modified"), h.Get("Cache-Control"), h.Get("Expires")}
				if got != want {
					t.Errorf("fields\n got %+v\nwant %+v", got, want)
				}
				if h.Get("Content-Range") != "" {
					t.Errorf("Content-Range %q", h.Get("Content-Range"))
				}
				if method == "HEAD" {
					if strings.HasPrefix(want.etag, "W/") && h.Get("Content-Length") == strconv.Itoa(len(img)) {
						t.Errorf("HEAD Content-Length %s: the original image's", h.Get("Content-Length"))
					}
					return
				}
				if want.code != "200" {
					return
				}
				if cl := h.Get("Content-Length"); cl != strconv.Itoa(len(b)) {
					t.Errorf("Content-Length %q for %d bytes", cl, len(b))
				}
				switch tc.size {
				case "json":
					if !bytes.HasPrefix(b, []byte(`{ "img" : { "width": 300, "height": 200`)) {
						t.Errorf("answer %q", b)
					}
				case "":
					if string(b) != "{}\r\n" {
						t.Errorf("answer %q, want {}", b)
					}
				default:
					cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
					if err != nil {
						t.Fatalf("answer does not decode: %v", err)
					}
					if s := fmt.Sprintf("%dx%d", cfg.Width, cfg.Height); s != tc.size {
						t.Errorf("image %s, want %s", s, tc.size)
					}
				}
			})
		}
	}
}

// TestImageFilterIncluded checks image_filter on the body of a subrequest
// that goes into the including response (an SSI include, add_before_body,
// add_after_body) against nginx 1.22.1's, recorded with SSI pages and
// add_before_body/add_after_body over a file and a proxied image: nginx's
// filter tests the first bytes and then waits for a last buffer that a
// subrequest never sends. So "test" passes an image, every other operation
// outputs nothing and the page goes on; a body that is no image ends the
// page after "{}" under "size" (the connection closes after it), and
// closes the connection at once otherwise (nothing was sent: no answer).
func TestImageFilterIncluded(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t, "jpeg", 300, 200)
	small := testImage(t, "jpeg", 100, 100)
	files := map[string][]byte{"a.jpg": img, "c.jpg": small, "text.jpg": []byte("not an image, not at all\n")}
	for name, b := range files {
		writeDated(t, filepath.Join(dir, "www", name), b, time.Now())
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(img)
	}))
	t.Cleanup(up.Close)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /r/ { alias %[1]s/www/; image_filter resize 150 150; }
        location /c/ { alias %[1]s/www/; image_filter crop 50 20; }
        location /rot/ { alias %[1]s/www/; image_filter rotate 90; }
        location /fit/ { alias %[1]s/www/; image_filter resize 500 500; }
        location /size/ { alias %[1]s/www/; image_filter size; }
        location /t/ { alias %[1]s/www/; image_filter test; }
        location /p/ { proxy_pass http://%[2]s/; image_filter resize 150 150; }
        location /small/ { alias %[1]s/www/; image_filter_buffer 1k; image_filter resize 10 10; }
        location /ssi/ { ssi on; alias %[1]s/www/; }
        location /add/ { alias %[1]s/www/; add_before_body /t/c.jpg; add_after_body /r/a.jpg; }
        location /addsize/ { alias %[1]s/www/; add_before_body /size/text.jpg; add_after_body /t/c.jpg; }
    }`, dir, up.Listener.Addr()))
	tests := []struct {
		name, page string
		want       string // the page's body; "" for no answer
		closes     bool   // the connection closes after the answer
	}{
		{"resize", `1[<!--# include virtual="/r/a.jpg" -->]`, "1[]", false},
		{"crop", `2[<!--# include virtual="/c/a.jpg" -->]`, "2[]", false},
		{"rotate", `3[<!--# include virtual="/rot/a.jpg" -->]`, "3[]", false},
		{"fits", `4[<!--# include virtual="/fit/a.jpg" -->]`, "4[]", false},
		{"size", `5[<!--# include virtual="/size/a.jpg" -->]`, "5[]", false},
		{"proxied", `6[<!--# include virtual="/p/a.jpg" -->]`, "6[]", false},
		{"test", `7[<!--# include virtual="/t/c.jpg" -->]`, "7[" + string(small) + "]", false},
		{"size of no image", `8[<!--# include virtual="/size/text.jpg" -->]<!--# include virtual="/t/c.jpg" -->`, "8[{}\r\n", true},
		{"test of no image", `9[<!--# include virtual="/t/text.jpg" -->]`, "", true},
		{"resize of no image", `10[<!--# include virtual="/r/text.jpg" -->]`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-") + ".html"
			if err := os.WriteFile(filepath.Join(dir, "www", name), []byte(tc.page), 0o644); err != nil {
				t.Fatal(err)
			}
			checkIncluded(t, "http://"+addr+"/ssi/"+name, tc.want, tc.closes)
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "page.html"), []byte("<p>page</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A Content-Length past image_filter_buffer: nginx's 415 page goes in
	// place, and the page goes on; the error line names the subrequest.
	t.Run("too big", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "www", "big.html"), []byte(`[<!--# include virtual="/small/a.jpg" -->]`), 0o644); err != nil {
			t.Fatal(err)
		}
		resp, b := fetchWith(t, "GET", "http://"+addr+"/ssi/big.html")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "[<html>") || !strings.Contains(string(b), "415 Unsupported Media Type") || !strings.HasSuffix(string(b), "</html>\r\n]") {
			t.Fatalf("answer %d %q", resp.StatusCode, b)
		}
		waitForLog(t, filepath.Join(dir, "error.log"), fmt.Sprintf(`error image filter: too big response: %d while sending response to client, client: 127.0.0.1, server: , request: "GET /ssi/big.html HTTP/1.1", subrequest: "/small/a.jpg"`, len(img)))
	})
	t.Run("addition", func(t *testing.T) {
		checkIncluded(t, "http://"+addr+"/add/page.html", string(small)+"<p>page</p>", false)
	})
	t.Run("addition size of no image", func(t *testing.T) {
		checkIncluded(t, "http://"+addr+"/addsize/page.html", "{}\r\n", true)
	})
}

// checkIncluded fetches url and checks its body, want ("" for no answer at
// all: the connection closed), and whether the connection closes after it.
func checkIncluded(t *testing.T, url, want string, closes bool) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if want == "" {
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("answer %d %q, want the connection closed", resp.StatusCode, b)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if resp.StatusCode != http.StatusOK || string(b) != want {
		t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, b, want)
	}
	if resp.Close != closes {
		t.Errorf("connection closes %v, want %v", resp.Close, closes)
	}
}
