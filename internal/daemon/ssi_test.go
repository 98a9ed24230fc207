package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ssiConf has the locations the SSI answers were taken from nginx 1.22.1
// with: %[1]s is the test's directory (root/ is the document root), %[2]s
// an upstream answering text/html with SSI commands in it.
const ssiConf = `
    access_log off;
    types { text/html html; text/plain txt; }
    server {
        listen 127.0.0.1:0;
        root %[1]s/root;
        ssi on;
        location /lm/ { ssi_last_modified on; alias %[1]s/root/h/; }
        location /t/ { ssi_types text/plain; add_header X-Date $date_gmt; }
        location /gz/ { gzip on; gzip_min_length 1; alias %[1]s/root/n/; }
        location /plain/ { ssi off; alias %[1]s/root/n/; }
        location /up/ { proxy_pass http://%[2]s; }
        location = /redir { return 302 /h/a.html; }
        location = /ret { default_type text/html; return 200 'ret <!--# echo var="uri" -->'; }
        location /small/ { subrequest_output_buffer_size 8; alias %[1]s/root/h/; }
    }
`

// TestSSI checks the SSI filter against nginx 1.22.1's answers to the
// same requests: the commands carried out, chunked framing without
// Content-Length, Accept-Ranges, Last-Modified or ETag (kept, weak, under
// ssi_last_modified), an empty file and other types untouched, includes
// through the locations (SSI in them too, variables shared, a variable
// set by an include not yet seen by the commands after it), a page that
// includes itself cut at nginx's depth, Range ignored, gzip over the
// whole, a proxied page processed.
func TestSSI(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"h/a.html":     `A<!--# echo var="x" default="-" -->B`,
		"h/a.txt":      `T<!--# echo var="x" -->`,
		"h/empty.html": "",
		"h/set.html":   `[<!--# include virtual="/plain/inner.html" set="v" -->][<!--# echo var="v" -->]`,
		"t/a.txt":      `X<!--# echo var="uri" -->`,
		"n/top.html":   `top<!--# include virtual="/n/outer.html" --> after:<!--# echo var="x" -->`,
		"n/outer.html": `<!--# set var="x" value="fromsub" -->S1<!--# include virtual="/n/inner.html" -->`,
		"n/inner.html": `[inner <!--# echo var="x" --> <!--# echo var="uri" -->]`,
		"n/wait.html":  `top<!--# include virtual="/n/outer.html" wait="yes" --> after:<!--# echo var="x" -->`,
		"n/loop.html":  `loop<!--# include virtual="/n/loop.html" -->`,
		"n/stub.html":  `<!--# block name="s" -->none<!--# endblock -->[<!--# include virtual="/n/missing.html" stub="s" -->]`,
		"n/stub2.html": `<!--# block name="s" -->none<!--# endblock -->[<!--# include virtual="/redir" stub="s" -->][<!--# include virtual="/ret" stub="s" -->]`,
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
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"up"`)
		io.WriteString(w, "up "+r.URL.Path+`<!--# include virtual="/n/inner.html" -->`)
	}))
	t.Cleanup(up.Close)
	addr := startDaemon(t, dir, fmt.Sprintf(ssiConf, dir, up.Listener.Addr()))

	const errmsg = "[an error occurred while processing the directive]"
	tests := []struct {
		method, path, rng string
		body              string
		processed         bool // the SSI filter's fields
		lastModified      bool // Last-Modified and a weak ETag kept
	}{
		{method: "GET", path: "/h/a.html", body: "A-B", processed: true},
		{method: "GET", path: "/h/a.txt", body: `T<!--# echo var="x" -->`},
		{method: "GET", path: "/lm/a.html", body: "A-B", processed: true, lastModified: true},
		{method: "GET", path: "/h/empty.html", body: ""},
		{method: "GET", path: "/t/a.txt", body: "X/t/a.txt", processed: true},
		{method: "GET", path: "/plain/top.html", body: files["n/top.html"]},
		{method: "GET", path: "/n/top.html", body: "topS1[inner fromsub /n/inner.html] after:(none)", processed: true},
		{method: "GET", path: "/n/wait.html", body: "topS1[inner fromsub /n/inner.html] after:fromsub", processed: true},
		{method: "GET", path: "/n/loop.html", body: strings.Repeat("loop", 52) + errmsg, processed: true},
		{method: "GET", path: "/n/stub.html", body: "[none]", processed: true},
		{method: "GET", path: "/n/stub2.html", body: "[none][ret /ret]", processed: true},
		{method: "GET", path: "/h/set.html", body: "[][[inner &lt;!--# echo var=&quot;x&quot; --&gt; &lt;!--# echo var=&quot;uri&quot; --&gt;]]", processed: true},
		{method: "GET", path: "/h/a.html", rng: "bytes=0-1", body: "A-B", processed: true},
		{method: "GET", path: "/up/page.html", body: "up /up/page.html[inner (none) /n/inner.html]", processed: true},
		{method: "HEAD", path: "/h/a.html", processed: true},
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
			if resp.StatusCode != 200 || string(body) != tc.body {
				t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, tc.body)
			}
			_, ranges := resp.Header["Accept-Ranges"]
			lm, etag := resp.Header.Get("Last-Modified"), resp.Header.Get("Etag")
			if !tc.processed {
				if resp.ContentLength != int64(len(body)) || etag == "" && !strings.HasPrefix(tc.path, "/up/") {
					t.Errorf("untouched answer lost Content-Length or ETag: %v", resp.Header)
				}
				return
			}
			chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
			if resp.Header.Get("Content-Length") != "" || ranges || tc.method == "GET" && !chunked {
				t.Errorf("fields %v, TE %v: want chunked, no Content-Length or Accept-Ranges", resp.Header, resp.TransferEncoding)
			}
			if tc.lastModified != (lm != "") || tc.lastModified != strings.HasPrefix(etag, `W/"`) || !tc.lastModified && etag != "" {
				t.Errorf("Last-Modified %q, ETag %q (ssi_last_modified %v)", lm, etag, tc.lastModified)
			}
		})
	}

	t.Run("$date_gmt outside SSI", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/t/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		date := resp.Header.Get("X-Date")
		if !regexp.MustCompile(`^[A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d GMT$`).MatchString(date) {
			t.Errorf("X-Date %q, want nginx's default SSI time format", date)
		}
	})

	t.Run("gzip over the whole", func(t *testing.T) {
		if got := getGunzipped(t, "http://"+addr+"/gz/top.html"); got != "topS1[inner fromsub /n/inner.html] after:(none)" {
			t.Errorf("decompressed %q", got)
		}
	})

	t.Run("set= over subrequest_output_buffer_size", func(t *testing.T) {
		// nginx closes the connection without an answer.
		resp, err := http.Get("http://" + addr + "/small/set.html")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("answer %d %q, want none", resp.StatusCode, body)
		}
	})
}
