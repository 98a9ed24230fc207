package daemon_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// subBody is the body the sub_filter answers below were taken from (nginx
// 1.22.1 proxying it with the same locations).
const subBody = "Hello World hello WORLD foo FOO foo abcabc ab abc\n"

// gzipBytes compresses s.
func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// getGunzipped sends GET url with "Accept-Encoding: gzip" and returns the
// body decompressed; an answer not gzipped fails the test.
func getGunzipped(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("Content-Encoding %q: %v", resp.Header.Get("Content-Encoding"), err)
	}
	got, _ := io.ReadAll(zr)
	return string(got)
}

// subBackend answers like the Python backend the nginx answers came from:
// /html, /plain, /css, /empty, /notype (subBody with that type or none),
// /gz (gzip, Content-Encoding), /split (chunked, in pieces that cut
// "HELLO"), /big (many matches across the proxy's 32 KiB reads).
func subBackend(t *testing.T) *httptest.Server {
	gz := gzipBytes(t, "Hello gz world\n")
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		p := r.URL.Path
		switch {
		case strings.HasSuffix(p, "/split"):
			h.Set("Content-Type", "text/html")
			for _, piece := range []string{"one <HE", "LL", "O> two hel", "lo three hell"} {
				_, _ = io.WriteString(w, piece)
				w.(http.Flusher).Flush()
			}
			return
		case strings.HasSuffix(p, "/big"):
			h.Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, strings.Repeat("xxxxxhello", 20000))
			return
		}
		body := []byte(subBody)
		ct := "text/html"
		switch {
		case strings.HasSuffix(p, "/plain"):
			ct = "text/plain"
		case strings.HasSuffix(p, "/css"):
			ct = "text/css; charset=utf-8"
		case strings.HasSuffix(p, "/empty"):
			body = nil
		case strings.HasSuffix(p, "/notype"):
			ct = ""
		case strings.HasSuffix(p, "/gz"):
			body = gz
			h.Set("Content-Encoding", "gzip")
		case strings.HasSuffix(p, "/bad"):
			body = []byte("this is not gzip at all")
			h.Set("Content-Encoding", "gzip")
		}
		if ct != "" {
			h.Set("Content-Type", ct)
		} else {
			h["Content-Type"] = nil // no sniffing
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		h.Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
		h.Set("ETag", `"abc"`)
		h.Set("Accept-Ranges", "bytes")
		_, _ = w.Write(body)
	}))
}

// fields are the response fields a case checks: "-" for absent.
type fields map[string]string

// TestSubFilterAndGunzip: sub_filter and gunzip through the daemon over
// real sockets, each case's answer as nginx 1.22.1 gave it for the same
// locations and requests (framing aside: fulcrum may send a short body
// with a Content-Length it computed where nginx sends it chunked).
func TestSubFilterAndGunzip(t *testing.T) {
	backend := subBackend(t)
	defer backend.Close()
	addr, dir := runDaemon(t, func(dir string) string {
		write := func(name, text string) {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("www/foo.html", "static Hello html\n")
		return fmt.Sprintf(`
    server {
        listen 127.0.0.1:0;
        location /p/ {
            proxy_pass http://%[1]s/;
            sub_filter hello "[hi $request_method]";
            sub_filter FOO bar;
        }
        location /all/ {
            proxy_pass http://%[1]s/;
            sub_filter hello "<$uri>";
            sub_filter foo bar;
            sub_filter_once off;
        }
        location /lm/ {
            proxy_pass http://%[1]s/;
            sub_filter hello X;
            sub_filter_last_modified on;
            sub_filter_types text/plain;
        }
        location /prio/ { proxy_pass http://%[1]s/; sub_filter ab 1; sub_filter abc 2; sub_filter_once off; }
        location /prio2/ { proxy_pass http://%[1]s/; sub_filter abc 2; sub_filter ab 1; sub_filter_once off; }
        location /any/ { proxy_pass http://%[1]s/; sub_filter hello X; sub_filter_types *; }
        location /dyn/ { proxy_pass http://%[1]s/; sub_filter $arg_q "[$arg_r]"; }
        location /gun/ { proxy_pass http://%[1]s/; gunzip on; sub_filter hello X; gzip_vary on; }
        location /gunv/ { proxy_pass http://%[1]s/; gunzip on; }
        location /sf/ { alias %[2]s/www/; sub_filter hello X; }
        location /err { return 404; sub_filter "</h1>" "!</h1>"; }
        location /ret { default_type text/html; return 200 "ababa"; sub_filter aba X; sub_filter_once off; }
    }`, backend.Listener.Addr(), dir)
	})
	const noAE, ae = "", "Accept-Encoding: gzip\r\n"
	absent := "-"
	tests := []struct {
		name, req string
		status    int
		body      string
		fields    fields
	}{
		{"once per string, without case", "GET /p/html HTTP/1.1\r\n", 200,
			"[hi GET] World hello WORLD bar FOO foo abcabc ab abc\n",
			fields{"Content-Length": "len", "Last-Modified": absent, "Etag": absent, "Accept-Ranges": "bytes"}},
		{"all, variables", "GET /all/html HTTP/1.1\r\n", 200,
			"</all/html> World </all/html> WORLD bar bar bar abcabc ab abc\n", nil},
		{"last modified kept, ETag weak", "GET /lm/plain HTTP/1.1\r\n", 200,
			"X World hello WORLD foo FOO foo abcabc ab abc\n",
			fields{"Content-Length": "len", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT", "Etag": `W/"abc"`}},
		{"text/html always", "GET /lm/html HTTP/1.1\r\n", 200, "X World hello WORLD foo FOO foo abcabc ab abc\n", nil},
		{"ab before abc", "GET /prio/html HTTP/1.1\r\n", 200, "Hello World hello WORLD foo FOO foo 1c1c 1 1c\n", nil},
		{"abc before ab", "GET /prio2/html HTTP/1.1\r\n", 200, "Hello World hello WORLD foo FOO foo 22 1 2\n", nil},
		{"type not listed", "GET /p/plain HTTP/1.1\r\n", 200, subBody,
			fields{"Content-Length": "50", "Etag": `"abc"`, "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}},
		{"type with charset not listed", "GET /p/css HTTP/1.1\r\n", 200, subBody, fields{"Content-Length": "50"}},
		{"types *, no Content-Type", "GET /any/notype HTTP/1.1\r\n", 200, "X World hello WORLD foo FOO foo abcabc ab abc\n", nil},
		{"Content-Length 0", "GET /p/empty HTTP/1.1\r\n", 200, "", fields{"Content-Length": "0", "Etag": `"abc"`}},
		{"matches across upstream pieces", "GET /p/split HTTP/1.1\r\n", 200, "one <[hi GET]> two hello three hell", nil},
		{"all, across pieces", "GET /all/split HTTP/1.1\r\n", 200, "one <</all/split>> two </all/split> three hell", nil},
		{"across the proxy's reads", "GET /all/big HTTP/1.1\r\n", 200, strings.Repeat("xxxxx</all/big>", 20000), nil},
		{"dynamic search string, lower-cased", "GET /dyn/html?q=WORLD&r=x HTTP/1.1\r\n", 200, "Hello [x] hello WORLD foo FOO foo abcabc ab abc\n", nil},
		{"dynamic search string empty", "GET /dyn/html?r=x HTTP/1.1\r\n", 200, subBody, fields{"Content-Length": "50"}},
		{"HEAD", "HEAD /p/html HTTP/1.1\r\n", 200, "", fields{"Content-Length": absent, "Etag": absent}},
		{"compressed body searched as it is", "GET /p/gz HTTP/1.1\r\n" + ae, 200, "Hello gz world\n",
			fields{"Content-Encoding": "gzip", "Etag": absent, "Last-Modified": absent}},
		{"gunzip, then sub", "GET /gun/gz HTTP/1.1\r\n" + noAE, 200, "X gz world\n",
			fields{"Content-Encoding": absent, "Vary": "Accept-Encoding", "Accept-Ranges": absent, "Content-Length": "len"}},
		{"gunzip: the client takes gzip", "GET /gun/gz HTTP/1.1\r\n" + ae, 200, "Hello gz world\n",
			fields{"Content-Encoding": "gzip", "Vary": "Accept-Encoding", "Accept-Ranges": "bytes"}},
		{"gunzip alone", "GET /gunv/gz HTTP/1.1\r\n" + noAE, 200, "Hello gz world\n",
			fields{"Content-Encoding": absent, "Vary": absent, "Etag": `W/"abc"`, "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT", "Accept-Ranges": absent}},
		{"gunzip alone, gzip client", "GET /gunv/gz HTTP/1.1\r\n" + ae, 200, "Hello gz world\n",
			fields{"Content-Encoding": "gzip", "Etag": `"abc"`, "Accept-Ranges": "bytes"}},
		{"gunzip, HEAD", "HEAD /gunv/gz HTTP/1.1\r\n", 200, "", fields{"Content-Encoding": absent, "Content-Length": absent}},
		{"static file", "GET /sf/foo.html HTTP/1.1\r\n", 200, "static X html\n",
			fields{"Content-Length": "len", "Accept-Ranges": absent, "Last-Modified": absent, "Etag": absent}},
		{"static file, range ignored", "GET /sf/foo.html HTTP/1.1\r\nRange: bytes=0-3\r\n", 200, "static X html\n",
			fields{"Content-Range": absent}},
		{"error page", "GET /err HTTP/1.1\r\n", 404, "*", nil},
		{"overlap: the scan goes on after a match", "GET /ret HTTP/1.1\r\n", 200, "Xba", nil},
	}
	t.Run("gunzip of a body that is not gzip", func(t *testing.T) {
		// nginx 1.22.1: no answer at all, the connection closed, and
		// "inflate() failed: 0, -3 while sending to client" in the log.
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.WriteString(c, "GET /gunv/bad HTTP/1.1\r\nHost: t\r\n\r\n")
		got, err := io.ReadAll(c)
		if err != nil || len(got) != 0 {
			t.Errorf("got %q, %v; want the connection closed without an answer", got, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			if bytes.Contains(logged, []byte("gunzip: ")) && bytes.Contains(logged, []byte("while sending to client")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("error log lacks the gunzip error:\n%s", logged)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exchange(t, addr, strings.Replace(tt.req, "\r\n", "\r\nHost: t\r\nConnection: close\r\n", 1)+"\r\n")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body == "*" {
				if !strings.Contains(body, "Not Found!</h1>") {
					t.Errorf("error page not substituted: %q", body)
				}
			} else if body != tt.body {
				t.Errorf("body %s, want %s", clip(body), clip(tt.body))
			}
			checkFields(t, resp, body, tt.fields)
		})
	}
}

// clip quotes s, its middle left out when it is long.
func clip(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%q...(%d bytes)...%q", s[:80], len(s), s[len(s)-80:])
	}
	return fmt.Sprintf("%q", s)
}

// checkFields checks resp's fields against want: "-" for absent, "len"
// for a Content-Length that is absent or the length of the changed body
// (fulcrum computes one for a short body that nginx sends chunked), "*weak"
// for a weak ETag, else the first value.
func checkFields(t *testing.T, resp *http.Response, body string, want fields) {
	t.Helper()
	for k, w := range want {
		got, ok := resp.Header[k]
		switch {
		case w == "len":
			if ok && got[0] != fmt.Sprint(len(body)) {
				t.Errorf("%s: %q for a body of %d bytes", k, got, len(body))
			}
		case w == "*weak":
			if !ok || !strings.HasPrefix(got[0], "W/") {
				t.Errorf("%s: %q, want a weak one", k, got)
			}
		case w == "-" && ok:
			t.Errorf("%s: %q, want none", k, got)
		case w != "-" && (!ok || got[0] != w):
			t.Errorf("%s: %q, want %q", k, got, w)
		}
	}
}

// TestGzipStatic: gzip_static over real sockets, each case's answer as
// nginx 1.22.1 gave it (the .gz file's length, Content-Encoding, the
// original's Content-Type, Vary under gzip_vary, no ranges).
func TestGzipStatic(t *testing.T) {
	addr, _ := runDaemon(t, func(dir string) string {
		write := func(name string, data []byte) {
			p := filepath.Join(dir, "www", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("foo.html", []byte("static Hello html\n"))
		write("foo.html.gz", gzipBytes(t, "GZIPPED-CONTENT-MARK"))
		write("app.js", []byte("var x=1;\n"))
		write("app.js.gz", gzipBytes(t, "var x=1;\n"))
		write("only.txt.gz", gzipBytes(t, "only gz\n"))
		write("d/index.html", []byte("index Hello\n"))
		write("d/index.html.gz", gzipBytes(t, "index gz\n"))
		write("plain.html", []byte("no gz beside me\n"))
		write("dgz.txt.gz/x", []byte("a directory named .gz\n"))
		write("e.txt", []byte("e\n"))
		write("e.txt.gz/x", []byte("a directory named .gz\n"))
		return fmt.Sprintf(`
    types { text/html html; application/javascript js; text/plain txt; }
    server {
        listen 127.0.0.1:0;
        location /s/ { alias %[1]s/www/; gzip_static on; gzip_vary on; }
        location /sn/ { alias %[1]s/www/; gzip_static ON; }
        location /sa/ { alias %[1]s/www/; gzip_static always; gunzip on; }
        location /sg/ { alias %[1]s/www/; gzip_static on; gzip on; gzip_types *; }
    }`, dir)
	})
	const ae = "Accept-Encoding: gzip\r\n"
	absent := "-"
	tests := []struct {
		name, req string
		status    int
		body      string // decompressed
		fields    fields
	}{
		{"gzip client gets FILE.gz", "GET /s/foo.html HTTP/1.1\r\n" + ae, 200, "GZIPPED-CONTENT-MARK",
			fields{"Content-Encoding": "gzip", "Content-Type": "text/html", "Vary": "Accept-Encoding", "Accept-Ranges": absent}},
		{"other client gets FILE, with Vary", "GET /s/foo.html HTTP/1.1\r\n", 200, "static Hello html\n",
			fields{"Content-Encoding": absent, "Vary": "Accept-Encoding", "Accept-Ranges": "bytes", "Content-Length": "18"}},
		{"the original's type", "GET /s/app.js HTTP/1.1\r\n" + ae, 200, "var x=1;\n",
			fields{"Content-Encoding": "gzip", "Content-Type": "application/javascript"}},
		{"only FILE.gz", "GET /s/only.txt HTTP/1.1\r\n" + ae, 200, "only gz\n", fields{"Content-Encoding": "gzip", "Content-Type": "text/plain"}},
		// nginx's gzip_static marks the answer for Vary once FILE.gz opens,
		// before it declines for the client or for a directory.
		{"only FILE.gz, other client", "GET /s/only.txt HTTP/1.1\r\n", 404, "*", fields{"Vary": "Accept-Encoding"}},
		{"only FILE.gz, other client, no gzip_vary", "GET /sn/only.txt HTTP/1.1\r\n", 404, "*", fields{"Vary": absent}},
		{"only a directory FILE.gz", "GET /s/dgz.txt HTTP/1.1\r\n" + ae, 404, "*", fields{"Vary": "Accept-Encoding"}},
		{"a directory FILE.gz beside FILE", "GET /s/e.txt HTTP/1.1\r\n" + ae, 200, "e\n",
			fields{"Content-Encoding": absent, "Vary": "Accept-Encoding"}},
		{"index file", "GET /s/d/ HTTP/1.1\r\n" + ae, 200, "index gz\n", fields{"Content-Encoding": "gzip"}},
		{"no FILE.gz", "GET /s/plain.html HTTP/1.1\r\n" + ae, 200, "no gz beside me\n", fields{"Content-Encoding": absent, "Vary": absent}},
		{"range: the whole FILE.gz", "GET /s/foo.html HTTP/1.1\r\n" + ae + "Range: bytes=0-3\r\n", 200, "GZIPPED-CONTENT-MARK",
			fields{"Content-Encoding": "gzip", "Content-Range": absent}},
		{"HEAD", "HEAD /s/foo.html HTTP/1.1\r\n" + ae, 200, "", fields{"Content-Encoding": "gzip"}},
		{"POST is not served", "POST /s/foo.html HTTP/1.1\r\nContent-Length: 0\r\n" + ae, 405, "*", nil},
		{"on, without gzip_vary", "GET /sn/foo.html HTTP/1.1\r\n", 200, "static Hello html\n", fields{"Vary": absent}},
		{"on (any case)", "GET /sn/foo.html HTTP/1.1\r\n" + ae, 200, "GZIPPED-CONTENT-MARK", fields{"Content-Encoding": "gzip", "Vary": absent}},
		{"always + gunzip, other client", "GET /sa/foo.html HTTP/1.1\r\n", 200, "GZIPPED-CONTENT-MARK",
			fields{"Content-Encoding": absent, "Content-Length": "len", "Accept-Ranges": absent, "Etag": "*weak"}},
		{"always + gunzip, only FILE.gz", "GET /sa/only.txt HTTP/1.1\r\n", 200, "only gz\n", fields{"Content-Encoding": absent}},
		{"always, gzip client", "GET /sa/foo.html HTTP/1.1\r\n" + ae, 200, "GZIPPED-CONTENT-MARK", fields{"Content-Encoding": "gzip"}},
		{"gzip does not compress FILE.gz again", "GET /sg/foo.html HTTP/1.1\r\n" + ae, 200, "GZIPPED-CONTENT-MARK",
			fields{"Content-Encoding": "gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exchange(t, addr, strings.Replace(tt.req, "\r\n", "\r\nHost: t\r\nConnection: close\r\n", 1)+"\r\n")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body != "*" && body != tt.body {
				t.Errorf("body %s, want %s", clip(body), clip(tt.body))
			}
			checkFields(t, resp, body, tt.fields)
		})
	}
}

// TestFilteredLargeBody: a filter that writes a few small pieces before a
// large one (gzip's 10-byte header, sub_filter's text before a match) loses
// none of them when the engine's writer, holding them back for a computed
// Content-Length, overflows and commits to chunked framing.
func TestFilteredLargeBody(t *testing.T) {
	var page strings.Builder
	for i := 0; page.Len() < 300_000; i++ {
		fmt.Fprintf(&page, "%x hello %d\n", i*7919, i) // compresses to well over 4 KiB
	}
	addr, _ := runDaemon(t, func(dir string) string {
		if err := os.WriteFile(filepath.Join(dir, "big.html"), []byte(page.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`
    server {
        listen 127.0.0.1:0;
        root %s;
        location /z/ { alias %s/; gzip on; }
        location /s/ { alias %s/; sub_filter hello X; }
    }`, dir, dir, dir)
	})
	tests := []struct{ name, req, want string }{
		{"gzip", "GET /z/big.html HTTP/1.1\r\nAccept-Encoding: gzip\r\n", page.String()},
		{"sub_filter", "GET /s/big.html HTTP/1.1\r\n", strings.Replace(page.String(), "hello", "X", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := exchange(t, addr, strings.Replace(tt.req, "\r\n", "\r\nHost: t\r\nConnection: close\r\n", 1)+"\r\n")
			if body != tt.want {
				t.Errorf("body %s, want %s", clip(body), clip(tt.want))
			}
		})
	}
}
