package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// gzipConf is the configuration of TestGzip, with the backend's address for
// %[1]s and the document root for %[2]s. nginx 1.22.1 with the same
// configuration answered every case of the test the same way (heads
// compared field by field, bodies after decompression).
const gzipConf = `
events {}
http {
    types { text/html html; text/css css; }
    gzip on;
    gzip_vary on;
    server {
        listen 127.0.0.1:0;
        root %[2]s;
        location /app/ { proxy_pass http://%[1]s; }
    }
}
`

// gzipBody is what the backend and the static file answer: 614 bytes.
var gzipBody = "<html>" + strings.Repeat("hello world ", 50) + "</html>\n"

// gzipBackend answers /app/short with 5 bytes, /app/css as text/css,
// /app/br with Content-Encoding: br, anything else with gzipBody as text/html.
func gzipBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ct := gzipBody, "text/html"
		switch r.URL.Path {
		case "/app/short":
			body = "short"
		case "/app/css":
			ct = "text/css"
		case "/app/br":
			w.Header().Set("Content-Encoding", "br")
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestGzip runs the real binary with gzip on: a proxied text/html response
// is compressed for a client that accepts gzip and decompresses to the
// original; it is not compressed without Accept-Encoding, below
// gzip_min_length, for a type not in gzip_types, when the upstream encoded
// it already, or for a request that came through a proxy (Via, gzip_proxied
// off); gzip_vary sends Vary whenever gzip applies by type and length; a
// static file is compressed too.
func TestGzip(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	root := writeFiles(t, t.TempDir(), map[string]string{"page.html": gzipBody})
	in := startFulcrum(t, fmt.Sprintf(gzipConf, gzipBackend(t), filepath.Clean(root)), 1)
	addr := in.listening()[0]
	const ae = "Accept-Encoding: gzip, deflate\r\n"
	tests := []struct {
		name, target, fields string
		gzipped, vary        bool
		body                 string
	}{
		{"proxied html", "/app/page", ae, true, true, gzipBody},
		{"no Accept-Encoding", "/app/page", "", false, true, gzipBody},
		{"below gzip_min_length", "/app/short", ae, false, false, "short"},
		{"type not in gzip_types", "/app/css", ae, false, false, gzipBody},
		{"upstream encoded", "/app/br", ae, false, false, gzipBody},
		{"through a proxy", "/app/page", ae + "Via: 1.1 cache\r\n", false, true, gzipBody},
		{"static file", "/page.html", ae, true, true, gzipBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, c, _ := exchangeResponse(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"+tt.fields+"\r\n")
			if resp == nil {
				t.Fatal("no response")
			}
			c.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			gzipped := resp.Header.Get("Content-Encoding") == "gzip"
			if gzipped != tt.gzipped {
				t.Errorf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			if vary := resp.Header.Get("Vary") == "Accept-Encoding"; vary != tt.vary {
				t.Errorf("Vary %q", resp.Header.Get("Vary"))
			}
			if gzipped {
				if len(resp.TransferEncoding) == 0 || resp.Header.Get("Content-Length") != "" {
					t.Errorf("compressed body framed by %q, Content-Length %q; want chunked", resp.TransferEncoding, resp.Header.Get("Content-Length"))
				}
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				if len(body) >= len(gzipBody) {
					t.Errorf("compressed to %d bytes from %d", len(body), len(gzipBody))
				}
				body = string(plain)
			}
			if !bytes.Equal([]byte(body), []byte(tt.body)) {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestGzipConfigErrors: fulcrum -t names the file and line of a bad gzip
// value, in nginx's words, with a hint.
func TestGzipConfigErrors(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ directive, want string }{
		{"gzip_comp_level 10;", "value must be between 1 and 9 in "},
		{"gzip_proxied any sometimes;", `invalid value "sometimes" in `},
		{`gzip_disable "(";`, `pcre2_compile() failed: missing closing parenthesis in "(" in `},
		{"gzip_http_version 2.0;", `invalid value "2.0" in `},
	}
	checkDirectiveErrors(t, tests)
	if r, _ := testHTTP(t, " gzip on; gzip_comp_level 6; gzip_types text/css application/json; gzip_proxied expired no-cache auth;\n gzip_vary on; gzip_disable msie6; gzip_buffers 16 8k; gzip_http_version 1.0; gzip_min_length 256;"); r.code != 0 || strings.Contains(r.stderr, "gzip") {
		t.Errorf("a valid gzip config: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
