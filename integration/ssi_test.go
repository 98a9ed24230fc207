package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// ssiConf is the configuration of TestSSI, with the backend's address for
// %[1]s and the document root for %[2]s. nginx 1.22.1 with the same
// configuration and files gave every body the test checks.
const ssiConf = `
events {}
http {
    types { text/html html; }
    ssi on;
    server {
        listen 127.0.0.1:0;
        root %[2]s;
        location /app/ { proxy_pass http://%[1]s; }
        location /api/ { ssi off; proxy_pass http://%[1]s; }
        location /quiet/ {
            ssi off;
            if ($arg_ssi) { ssi on; }
            alias %[2]s/;
        }
    }
}
`

// ssiBackend answers /app/page with a page whose SSI commands cut across
// the pieces it streams, and /api/user with a text/html fragment.
func ssiBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := []string{`<h1>app</h1><!--# set var="who" value="$arg_who" --><!--# inc`, `lude virtual="/api/user?name=$who" -->`, `<!--# if expr="$who = /^(ad)min\$/" -->admin <!--# echo var="1" --><!--# else -->guest<!--# endif -->`}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/api/user" {
			io.WriteString(w, "<p>user "+r.URL.Query().Get("name")+"</p>")
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

// TestSSI runs the real binary with SSI on a static file and on a proxied
// page streamed in pieces that cut its commands: an include virtual to a
// proxied location with the arguments it evaluates, a regex if with its
// capture, an include file of a static fragment, ssi turned on by an if.
func TestSSI(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{
		"index.html":  `<title><!--# echo var="title" default="home" --></title><!--# include file="part.html" --><!--# echo var="arg_q" encoding="url" -->`,
		"part.html":   `[part of <!--# echo var="uri" -->]`,
		"broken.html": `a<!--# echo var=uri -->b`,
	})
	in := startFulcrum(t, fmt.Sprintf(ssiConf, ssiBackend(t), filepath.Clean(root)), 1)
	addr := in.listening()[0]
	const errmsg = "[an error occurred while processing the directive]"
	tests := []struct {
		name, target, body string
	}{
		{"static", "/index.html?q=a%20b", "<title>home</title>[part of /part.html]a%2520b"},
		{"proxied page", "/app/page?who=admin", "<h1>app</h1><p>user admin</p>admin ad"},
		{"proxied page, else", "/app/page?who=bob", "<h1>app</h1><p>user bob</p>guest"},
		{"malformed command", "/broken.html", "a" + errmsg + "b"},
		{"ssi off", "/quiet/part.html", `[part of <!--# echo var="uri" -->]`},
		{"ssi on in if", "/quiet/part.html?ssi=1", "[part of /quiet/part.html]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, c, _ := exchangeResponse(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
			if resp == nil {
				t.Fatal("no response")
			}
			c.Close()
			if resp.StatusCode != http.StatusOK || body != tt.body {
				t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, tt.body)
			}
			processed := !strings.Contains(tt.body, "<!--#")
			if processed && (resp.Header.Get("Content-Length") != "" || resp.Header.Get("Last-Modified") != "") {
				t.Errorf("a processed answer kept Content-Length or Last-Modified: %v", resp.Header)
			}
		})
	}
}

// TestSSIConfigErrors: fulcrum -t names the file and line of a bad ssi_*
// value in nginx's words, and loads a valid configuration of all of them
// without a warning.
func TestSSIConfigErrors(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ directive, want string }{
		{"ssi maybe;", `invalid value "maybe" in "ssi" directive, it must be "on" or "off" in `},
		{"ssi_value_length abc;", `"ssi_value_length" directive invalid value in `},
		{"ssi_types;", `invalid number of arguments in "ssi_types" directive in `},
		{"server { location / { if ($a) { ssi_silent_errors on; } } }", `"ssi_silent_errors" directive is not allowed here in `},
	}
	checkDirectiveErrors(t, tests)
	if r, _ := testHTTP(t, " ssi on; ssi_types text/plain; ssi_silent_errors on; ssi_value_length 1k; ssi_last_modified on; ssi_min_file_chunk 2k; ssi_ignore_recycled_buffers on; subrequest_output_buffer_size 8k;"); r.code != 0 || strings.Contains(r.stderr, "warn") {
		t.Errorf("a valid configuration: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
