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

// subConf is the configuration of TestBodyFilters, with the backend's
// address for %[1]s and the document root for %[2]s. nginx 1.22.1 with the
// same configuration gave every body and field the test checks (framing
// aside: nginx sends the changed bodies chunked, fulcrum computes a
// Content-Length for a short one).
const subConf = `
events {}
http {
    types { text/html html; application/javascript js; }
    server {
        listen 127.0.0.1:0;
        location /app/ {
            proxy_pass http://%[1]s;
            sub_filter http://backend.internal/ https://$host/;
            sub_filter '</BODY>' '<script src="/s.js"></script></body>';
            sub_filter_once off;
            gunzip on;
            gzip_vary on;
        }
        location /static/ {
            alias %[2]s/;
            gzip_static on;
            gzip_vary on;
        }
    }
}
`

// subBackend streams /app/page in pieces that cut both search strings, and
// answers /app/gz gzip-compressed (Content-Encoding: gzip) whatever the
// client asked for.
func subBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := []string{"<html><body><a href=\"http://back", "end.internal/x\">x</a>", "</bo", "dy></html>\n"}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/app/gz" {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			io.WriteString(zw, strings.Join(page, ""))
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", fmt.Sprint(b.Len()))
			w.Write(b.Bytes())
			return
		}
		w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
		for _, p := range page {
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// gzipped compresses s.
func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestBodyFilters runs the real binary with sub_filter, gunzip and
// gzip_static: strings replaced in a proxied body streamed in pieces that
// cut them, with variables and without case; a gzip upstream body
// decompressed (then substituted) for a client without gzip and passed as
// it is to one with it; a static file's precompressed .gz sent to a gzip
// client, with the original's type.
func TestBodyFilters(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	root := writeFiles(t, t.TempDir(), map[string]string{
		"app.js":    "var x = 1;\n",
		"app.js.gz": gzipped(t, "var x = 1; // from the .gz\n"),
	})
	in := startFulcrum(t, fmt.Sprintf(subConf, subBackend(t), filepath.Clean(root)), 1)
	addr := in.listening()[0]
	const changed = "<html><body><a href=\"https://t/x\">x</a><script src=\"/s.js\"></script></body></html>\n"
	const ae = "Accept-Encoding: gzip\r\n"
	tests := []struct {
		name, target, fields string
		body                 string // decompressed when Content-Encoding is gzip
		encoding, vary, typ  string
	}{
		{"substituted across pieces", "/app/page", "", changed, "", "", "text/html; charset=utf-8"},
		{"gunzip then substituted", "/app/gz", "", changed, "", "Accept-Encoding", "text/html; charset=utf-8"},
		{"gzip client gets it as it is", "/app/gz", ae, "<html><body><a href=\"http://backend.internal/x\">x</a></body></html>\n", "gzip", "Accept-Encoding", "text/html; charset=utf-8"},
		{"precompressed", "/static/app.js", ae, "var x = 1; // from the .gz\n", "gzip", "Accept-Encoding", "application/javascript"},
		{"original for other clients", "/static/app.js", "", "var x = 1;\n", "", "Accept-Encoding", "application/javascript"},
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
			if got := resp.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if got := resp.Header.Get("Vary"); got != tt.vary {
				t.Errorf("Vary %q, want %q", got, tt.vary)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.typ {
				t.Errorf("Content-Type %q, want %q", got, tt.typ)
			}
			if strings.HasPrefix(tt.target, "/app/") && resp.Header.Get("Last-Modified") != "" {
				t.Errorf("Last-Modified %q kept on a changed body", resp.Header.Get("Last-Modified"))
			}
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				body = string(plain)
			}
			if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestBodyFilterConfigErrors: fulcrum -t names the file and line of a bad
// sub_filter, gzip_static or gunzip_buffers value in nginx's words, and
// loads a valid configuration of all of them without a warning.
func TestBodyFilterConfigErrors(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ directive, want string }{
		{`sub_filter "" x;`, "empty search pattern in "},
		{"gzip_static sometimes;", `invalid value "sometimes" in `},
		{"gunzip_buffers 0 4k;", `"gunzip_buffers" directive invalid value in `},
		{"sub_filter_once yes;", `invalid value "yes" in "sub_filter_once" directive, it must be "on" or "off" in `},
	}
	checkDirectiveErrors(t, tests)
	if r, _ := testHTTP(t, " sub_filter a b; sub_filter $arg_x $arg_y; sub_filter_once off; sub_filter_types text/css; sub_filter_last_modified on;\n gzip_static always; gunzip on; gunzip_buffers 16 8k;"); r.code != 0 || strings.Contains(r.stderr, "warn") {
		t.Errorf("a valid configuration: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
