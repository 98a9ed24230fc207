package integration

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// secLinkConf is the two usual patterns: time-limited download links bound
// to the client's address (secure_link with secure_link_md5), and hotlink
// protection of images (valid_referers); plus the older secret form
// (secure_link_secret). APP is the backend, ROOT a directory with
// images/a.png. nginx 1.22.1 with the same configuration answered as the
// test expects.
const secLinkConf = `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        server_name example.org *.example.org;
        root ROOT;
        location /dl/ {
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri$remote_addr secret";
            if ($secure_link = "") { return 403; }
            if ($secure_link = "0") { return 410; }
            proxy_set_header X-Link-Expires $secure_link_expires;
            proxy_pass http://APP;
        }
        location /images/ {
            valid_referers none blocked server_names ~\.search\.test/;
            if ($invalid_referer) { return 403; }
        }
        location /p/ {
            secure_link_secret sesame;
            if ($secure_link = "") { return 403; }
            rewrite ^ /files/$secure_link;
        }
        location /files/ { internal; proxy_pass http://APP; }
    }
}
`

func TestSecureLinkAndHotlinking(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	root := writeFiles(t, t.TempDir(), map[string]string{"images/a.png": "PNG"})
	app := startBackend(t, "app")
	conf := strings.NewReplacer("APP", app.addr(), "ROOT", root).Replace(secLinkConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]

	sign := func(s string) string {
		sum := md5.Sum([]byte(s))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	now := time.Now().Unix()
	fut, past := strconv.FormatInt(now+3600, 10), strconv.FormatInt(now-60, 10)
	link := func(uri, expires, addr string) string {
		return uri + "?md5=" + sign(expires+uri+addr+" secret") + "&expires=" + expires
	}
	sum := md5.Sum([]byte("doc.pdf" + "sesame"))
	tests := []struct {
		name, target, extra string
		status              int
		want                string // a line of the answer's body
	}{
		{"valid link", link("/dl/file.zip", fut, "127.0.0.1"), "", 200, "x-link-expires: " + fut},
		{"expired link", link("/dl/file.zip", past, "127.0.0.1"), "", 410, ""},
		{"link for another client", link("/dl/file.zip", fut, "10.0.0.1"), "", 403, ""},
		{"link for another file", strings.Replace(link("/dl/file.zip", fut, "127.0.0.1"), "file", "other", 1), "", 403, ""},
		{"no link", "/dl/file.zip", "", 403, ""},
		{"image without a referer", "/images/a.png", "", 200, "PNG"},
		{"image from the site", "/images/a.png", "Referer: https://www.example.org/page\r\n", 200, "PNG"},
		{"image from a search page", "/images/a.png", "Referer: http://img.search.test/?q=a\r\n", 200, "PNG"},
		{"image behind a proxy that strips the referer", "/images/a.png", "Referer: *****\r\n", 200, "PNG"},
		{"hotlinked image", "/images/a.png", "Referer: http://other.test/page\r\n", 403, ""},
		{"secret form", "/p/" + hex.EncodeToString(sum[:]) + "/doc.pdf", "", 200, "app GET /files/doc.pdf"},
		{"secret form, wrong hash", "/p/" + strings.Repeat("0", 32) + "/doc.pdf", "", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := rawGet(t, addr, tt.target, tt.extra)
			if status != tt.status {
				t.Fatalf("GET %s: %d, want %d (%s)", tt.target, status, tt.status, body)
			}
			if tt.want != "" && !strings.Contains(body, tt.want) {
				t.Errorf("GET %s: body %q has no %q", tt.target, body, tt.want)
			}
		})
	}
}

// TestSecureLinkConfigErrors checks that fulcrum -t refuses what nginx -t
// refuses, with the file and line.
func TestSecureLinkConfigErrors(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	conf := func(inner string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        location / {\n            " + inner + "\n        }\n    }\n}\n"
	}
	tests := []struct{ name, inner, want string }{
		{"mixed forms", "secure_link $arg_h; secure_link_secret x;", `fulcrum: [emerg] "secure_link_secret" cannot be mixed with "secure_link" and "secure_link_md5" in %s:6`},
		{"unknown variable", "secure_link $nope; secure_link_md5 x;", `fulcrum: [emerg] unknown "nope" variable in %s:6`},
		{"blocked alone", "valid_referers blocked;", `fulcrum: [emerg] the "none" or "blocked" referers are specified in the "valid_referers" directive without any valid referer in %s:6`},
		{"bad wildcard", "valid_referers www.*.org;", `fulcrum: [emerg] invalid hostname or wildcard "www.*.org" in %s:6`},
		{"in if", "if ($invalid_referer) { valid_referers a.org; }", `fulcrum: [emerg] "valid_referers" directive is not allowed here in %s:6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf(tt.inner)})
			path := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", path)
			first, _, _ := strings.Cut(r.stderr, "\n")
			if want := fmt.Sprintf(tt.want, path); r.code != 1 || (first != want && !strings.HasPrefix(first, want+", ")) {
				t.Errorf("exit %d, first line %q, want 1 and %q", r.code, first, want)
			}
		})
	}
	ok := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf(`secure_link $arg_h,$arg_e; secure_link_md5 "$secure_link_expires$uri s"; valid_referers none *.example.org; referer_hash_max_size 2048; if ($invalid_referer) { return 403; }`)})
	if r := runFulcrum(t, "-t", "-c", filepath.Join(ok, "fulcrum.conf")); r.code != 0 {
		t.Errorf("a valid configuration: exit %d: %s", r.code, r.stderr)
	}
}
