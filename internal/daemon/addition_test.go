package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// additionConf has the locations the addition answers were taken from
// nginx 1.22.1 with: %[1]s is the test's directory (root/ is the document
// root), %[2]s an upstream answering text/html, %[3]s one answering 502.
const additionConf = `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s/root;
        location /add/ { add_before_body /h.html; add_after_body /ft.html; }
        location /add404/ { add_before_body /nothere.html; add_after_body /ft.html; }
        location /addb/ { add_before_body /h.html; }
        location /adda/ { add_after_body /ft.html?a=1; }
        location /addp/ { add_before_body /px/head; add_after_body /ft.html; }
        location /px/ { proxy_pass http://%[3]s/; }
        location /addproxy/ { add_before_body /h.html; add_after_body /ft.html; proxy_pass http://%[2]s; }
        location /addtxt/ { add_before_body /h.html; add_after_body /ft.html; addition_types text/plain; }
        location /addall/ { add_before_body /h.html; add_after_body /ft.html; addition_types *; }
        location /addret/ { add_before_body /h.html; add_after_body /ft.html; default_type text/html; return 200 "ret\n"; }
        location /addgz/ { add_before_body /h.html; add_after_body /ft.html; gzip on; gzip_min_length 1; }
        location /addnest/ { add_before_body /addb/x.html; }
        location /addsub/ { add_before_body /h.html; add_after_body /ft.html; sub_filter body BODY; sub_filter HEAD XX; }
    }
`

// TestAddition checks the addition filter against nginx 1.22.1's answers
// to the same requests: the subrequests' bodies (an error page too) around
// a 200 body of an addition_types type, no Content-Length or Accept-Ranges,
// a weak ETag, chunked framing, Range ignored, HEAD without subrequests,
// other types and statuses untouched, gzip over the whole.
func TestAddition(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"h.html": "HEAD\n", "ft.html": "FOOT\n"}
	for _, d := range []string{"add", "add404", "addb", "adda", "addp", "addtxt", "addall", "addgz", "addnest", "addsub"} {
		files[d+"/x.html"], files[d+"/x.txt"] = "body\n", "txt\n"
	}
	for name, body := range files {
		p := filepath.Join(dir, "root", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"up"`)
		io.WriteString(w, "proxied "+r.URL.Path+"\n")
	}))
	t.Cleanup(html.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "bad\n")
	}))
	t.Cleanup(bad.Close)
	addr := startDaemon(t, dir, fmt.Sprintf(additionConf, dir, html.Listener.Addr(), bad.Listener.Addr()))

	errPage := func(code int, reason string) string {
		return fmt.Sprintf("<html>\r\n<head><title>%[1]d %[2]s</title></head>\r\n<body>\r\n<center><h1>%[1]d %[2]s</h1></center>\r\n<hr><center>fulcrum/", code, reason)
	}
	tests := []struct {
		method, path, rng string
		status            int
		body              string // a prefix when it has an error page
		added             bool   // the addition filter's fields
		etag              string
	}{
		{method: "GET", path: "/add/x.html", status: 200, body: "HEAD\nbody\nFOOT\n", added: true},
		{method: "GET", path: "/add/x.txt", status: 200, body: "txt\n"},
		{method: "GET", path: "/add/missing.html", status: 404, body: errPage(404, "Not Found")},
		{method: "GET", path: "/add404/x.html", status: 200, body: errPage(404, "Not Found"), added: true},
		{method: "GET", path: "/addb/x.html", status: 200, body: "HEAD\nbody\n", added: true},
		{method: "GET", path: "/adda/x.html", status: 200, body: "body\n" + errPage(404, "Not Found"), added: true},
		{method: "GET", path: "/addp/x.html", status: 200, body: "bad\nbody\nFOOT\n", added: true},
		{method: "GET", path: "/addproxy/x.html", status: 200, body: "HEAD\nproxied /addproxy/x.html\nFOOT\n", added: true, etag: `W/"up"`},
		{method: "GET", path: "/addtxt/x.txt", status: 200, body: "HEAD\ntxt\nFOOT\n", added: true},
		{method: "GET", path: "/addtxt/x.html", status: 200, body: "HEAD\nbody\nFOOT\n", added: true},
		{method: "GET", path: "/addall/x.txt", status: 200, body: "HEAD\ntxt\nFOOT\n", added: true},
		{method: "GET", path: "/addret/", status: 200, body: "HEAD\nret\nFOOT\n", added: true},
		{method: "GET", path: "/add/x.html", rng: "bytes=0-1", status: 200, body: "HEAD\nbody\nFOOT\n", added: true},
		{method: "GET", path: "/addnest/x.html", status: 200, body: "body\nbody\n", added: true}, // a subrequest gets no additions
		{method: "HEAD", path: "/add/x.html", status: 200, added: true},
		// sub_filter (after addition in nginx's filters) changes the main
		// body only: the subrequests' bodies join after it.
		{method: "GET", path: "/addsub/x.html", status: 200, body: "HEAD\nBODY\nFOOT\n", added: true},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path+" "+tc.rng, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.HasPrefix(string(body), tc.body) || !strings.Contains(tc.body, "<html>") && string(body) != tc.body {
				t.Fatalf("answer %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			_, ranges := resp.Header["Accept-Ranges"]
			if tc.added {
				chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
				if resp.Header.Get("Content-Length") != "" || ranges || tc.method == "GET" && !chunked {
					t.Errorf("fields %v, TE %v: want chunked, no Content-Length or Accept-Ranges", resp.Header, resp.TransferEncoding)
				}
				if etag := resp.Header.Get("Etag"); tc.etag != "" && etag != tc.etag || etag != "" && !strings.HasPrefix(etag, `W/"`) {
					t.Errorf("ETag %q, want a weak one", etag)
				}
			} else if tc.status == 200 && (!ranges || resp.ContentLength != int64(len(body))) {
				t.Errorf("untouched answer lost Accept-Ranges or Content-Length: %v", resp.Header)
			}
		})
	}

	t.Run("gzip over the whole", func(t *testing.T) {
		if got := getGunzipped(t, "http://"+addr+"/addgz/x.html"); got != "HEAD\nbody\nFOOT\n" {
			t.Errorf("decompressed %q", got)
		}
	})
}
