package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// accelBackend answers every request with the X-Accel-Redirect field that
// targets maps its path to (none for another path).
func accelBackend(t *testing.T, targets map[string]string) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to, ok := targets[r.URL.Path]; ok {
			w.Header().Set("X-Accel-Redirect", to)
		}
		fmt.Fprint(w, "accel source")
	}))
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

// redirectCase is a request and the answer it must get.
type redirectCase struct {
	target string
	status int
	body   string
}

// checkAnswers sends a GET for each case's target to addr and checks the
// status and body.
func checkAnswers(t *testing.T, addr string, tests []redirectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp, err := noRedirects.Get("http://" + addr + tt.target)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

// TestInternalRedirectProxyURI checks the request target a proxy_pass
// sends after an internal redirect to a URI (a try_files fallback,
// error_page with or without "=", an index file, an upstream's
// X-Accel-Redirect): nginx no longer has the client's URI, so without a
// URI part the new URI goes upstream, escaped again, with the new
// arguments (none when the target has none); with a URI part it replaces
// the new location's prefix. A named location, and a "rewrite ... last"
// that did not escape anything, keep the client's URI as before. The
// echo backend shows $request_uri (X-Set), which stays the client's. Every
// expectation is nginx 1.22.1's answer to the same configuration.
func TestInternalRedirectProxyURI(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d", "index.html"), []byte("idx"), 0o644); err != nil {
		t.Fatal(err)
	}
	backend := echoBackend(t)
	accel := accelBackend(t, map[string]string{
		"/ax/args":  "/fb2?from=accel",
		"/ax/space": "/fb2/a%20b",
		"/ax/tilde": "/fb2/%7Eu%3Fv?k=%20",
		"/ax/uri":   "/withuri/w%25x?k",
		"/ax/named": "@be",
		"/ax/intl":  "/intl/p",
	})
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    upstream b { server %[2]s; }
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        proxy_set_header X-Set $request_uri;
        location / { try_files $uri /fallback?x=1; }
        location /noargs/ { try_files $uri /fallback; }
        location /qonly/ { try_files $uri /fallback?; }
        location /lit/ { try_files $uri %[4]s; }
        location /sp/ { try_files $uri /fallback$uri; }
        location /spa/ { try_files $uri /fallback$uri?$args; }
        location /wu/ { try_files $uri /withuri$uri?y=2; }
        location /var/ { try_files $uri /fbv$uri?z=1; }
        location /named/ { try_files $uri @be; }
        location /rw/ { rewrite ^/rw/(.*)$ /fallback/$1 last; }
        location /err/ { error_page 404 = /fb2; return 404; }
        location /ern/ { error_page 404 /fb2?e=1; return 404; }
        location /erw/ { error_page 404 /withuri/e; return 404; }
        location /ers/ { error_page 404 /fb2?s=$status; return 404; }
        location /erc/ { error_page 404 =200 /fb2?s=$status; return 404; }
        location /ere/ { error_page 404 = /fb2?s=$status; return 404; }
        location /er4/ { error_page 494 /fb2?s=$status; return 494; }
        location /eru/ { error_page 404 =301 http://h.test/?s=$status; return 404; }
        location /d/ { index index.html; }
        location ~ \.html$ { proxy_pass http://%[2]s; }
        location /ax/ { proxy_pass http://%[3]s; }
        location /fallback { proxy_pass http://%[2]s; }
        location /fb2 { proxy_pass http://%[2]s; }
        location /withuri { proxy_pass http://%[2]s/u/; }
        location /fbv { set $u b; proxy_pass http://$u; }
        location /intl/ { internal; proxy_pass http://%[2]s; }
        location @be { proxy_pass http://%[2]s; }
    }`, dir, backend, accel, "/fallback/a%%20b")) // startDaemon formats once more
	checkAnswers(t, addr, []redirectCase{
		// try_files: the fallback's own arguments, or none
		{"/a%20b?q=1", 200, "backend /fallback?x=1 x-set=/a%20b?q=1"},
		{"/noargs/x?q=1", 200, "backend /fallback x-set=/noargs/x?q=1"},
		{"/qonly/x?q=1", 200, "backend /fallback x-set=/qonly/x?q=1"},
		// the new path is escaped: a literal %20 in the fallback is a '%'
		{"/lit/x?q=1", 200, "backend /fallback/a%2520b x-set=/lit/x?q=1"},
		{"/sp/a%20b?q=1", 200, "backend /fallback/sp/a%20b x-set=/sp/a%20b?q=1"},
		{"/sp/a%25b?q=1", 200, "backend /fallback/sp/a%25b x-set=/sp/a%25b?q=1"},
		{"/sp/%c3%a9?q=1", 200, "backend /fallback/sp/%C3%A9 x-set=/sp/%c3%a9?q=1"},
		// a decoded '?' in $uri starts the fallback's arguments
		{"/spa/a%3Fb?q=1", 200, "backend /fallback/spa/a?b?q=1 x-set=/spa/a%3Fb?q=1"},
		// a URI part replaces the new location's prefix
		{"/wu/x%20y?q=1", 200, "backend /u//wu/x%20y?y=2 x-set=/wu/x%20y?q=1"},
		// proxy_pass with variables and without a URI part
		{"/var/a%20b?q=1", 200, "backend /fbv/var/a%20b?z=1 x-set=/var/a%20b?q=1"},
		// error_page with "=" (the target's status) and without
		{"/err/zz?q=2", 200, "backend /fb2 x-set=/err/zz?q=2"},
		{"/ern/zz?q=2", 404, "backend /fb2?e=1 x-set=/ern/zz?q=2"},
		{"/erw/zz?q=2", 404, "backend /u//e x-set=/erw/zz?q=2"},
		// $status in the target: the error, its "=code", 0 for a bare "=",
		// 400 for 494 (nginx's err_status then)
		{"/ers/zz", 404, "backend /fb2?s=404 x-set=/ers/zz"},
		{"/erc/zz", 200, "backend /fb2?s=200 x-set=/erc/zz"},
		{"/ere/zz", 200, "backend /fb2?s=000 x-set=/ere/zz"},
		{"/er4/zz", 400, "backend /fb2?s=400 x-set=/er4/zz"},
		// an index file another location serves, with the request's arguments
		{"/d/?a=1", 200, "backend /d/index.html?a=1 x-set=/d/?a=1"},
		// X-Accel-Redirect: the decoded target, escaped again
		{"/ax/args?q=1", 200, "backend /fb2?from=accel x-set=/ax/args?q=1"},
		{"/ax/space?q=1", 200, "backend /fb2/a%20b x-set=/ax/space?q=1"},
		{"/ax/tilde?q=1", 200, "backend /fb2/~u%3Fv?k=%20 x-set=/ax/tilde?q=1"},
		{"/ax/uri?q=1", 200, "backend /u//w%25x?k x-set=/ax/uri?q=1"},
		{"/ax/intl?q=1", 200, "backend /intl/p x-set=/ax/intl?q=1"},
		// unchanged: a named location and rewrite ... last
		{"/named/x%41?q=3", 200, "backend /named/x%41?q=3 x-set=/named/x%41?q=3"},
		{"/ax/named?q=1", 200, "backend /ax/named?q=1 x-set=/ax/named?q=1"},
		{"/rw/a%20c?r=1", 200, "backend /fallback/a%20c?r=1 x-set=/rw/a%20c?r=1"},
		{"/fallback/%7Euser?q=1", 200, "backend /fallback/%7Euser?q=1 x-set=/fallback/%7Euser?q=1"},
	})
	resp, err := noRedirects.Get("http://" + addr + "/eru/zz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 301 || loc != "http://h.test/?s=301" {
		t.Errorf("error_page =301 URL: %d %q, want 301 http://h.test/?s=301", resp.StatusCode, loc)
	}
}

// TestInternalRedirectAfterBreak checks that an internal redirect to a URI
// forgets a "rewrite ... break" made before it, as nginx's ngx_http_handler
// sets valid_location again: in the new location a proxy_pass URI part
// replaces the prefix (nginx 1.22.1 sends "/u//after" for the location
// /withuri and proxy_pass http://b/u/) and an alias gives $request_filename.
// A named location keeps the rewritten URI, as nginx.
func TestInternalRedirectAfterBreak(t *testing.T) {
	dir := t.TempDir()
	backend := echoBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location /brk/ { rewrite ^ /brk/new break; error_page 404 = /withuri/after; }
        location /brf/ { rewrite ^ /brf/new break; error_page 404 = /rf/after; }
        location /brn/ { rewrite ^ /brn/new break; error_page 404 = @be; }
        location /withuri { proxy_pass http://%[2]s/u/; }
        location /rf/ { alias %[1]s/; return 200 "[$request_filename][$uri]\n"; }
        location @be { proxy_pass http://%[2]s; }
    }`, dir, backend))
	checkAnswers(t, addr, []redirectCase{
		{"/brk/x?q=1", 200, "backend /u//after x-set="},
		{"/brf/x?q=1", 200, "[" + dir + "/after][/rf/after]\n"},
		{"/brn/x?q=1", 200, "backend /brn/new?q=1 x-set="},
	})
}

// TestInternalRedirectToNoLocation checks which settings serve an
// error_page target no location matches: the server's, as nginx's internal
// redirect starts again from them, not those of the location the request
// left (checked against nginx 1.22.1: no add_header of /exp/, "always" or
// not, on the 404 page, and the server's add_header instead).
func TestInternalRedirectToNoLocation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "404.html"), []byte("not found page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0; root %s;
        error_page 404 /404.html;
        add_header X-Server s always;
        location /exp/ { add_header X-A a; add_header X-B b always; }
    }`, dir))
	resp, err := noRedirects.Get("http://" + addr + "/exp/nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || string(body) != "not found page\n" {
		t.Fatalf("got %d %q, want the 404 page", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-B"); len(got) != 0 {
		t.Errorf("X-B %q: the location the request left added it", got)
	}
	if got := resp.Header.Get("X-Server"); got != "s" {
		t.Errorf("X-Server %q, want the server's add_header", got)
	}
}
