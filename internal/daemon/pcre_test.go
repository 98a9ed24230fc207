package daemon_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pcreConf holds the PCRE lookaround and backreference rules of real-world
// configurations (h5bp's dotfile rule, Magento's setup rule, Nextcloud's
// rewrite), a lookbehind, backreferences, a caseless lookahead with a
// non-ASCII letter, a map key with a lookahead, and catastrophic patterns.
const pcreConf = `
    access_log off;
    map $uri $mapped {
        ~^/m/(?<k>\w+)(?=\.json$) "json-$k";
        default none;
    }
    server {
        listen 127.0.0.1:0;
        server_name la.test;
        location ~ /\.(?!well-known) { deny all; }
        location ~ ^/setup/(?!pub/). { return 200 "setup-deny $uri\n"; }
        location ~ (?<!\.php)$ { return 200 "nophp $uri\n"; }
        location ~ ^/(?<first>\w+)/\1/(?<n>\d+)\.php$ { return 200 "backref first=$first n=$n 1=$1 2=$2\n"; }
        location ~* ^/ci/(?!x)CAFé\.php$ { return 200 "ci $uri\n"; }
        location / { return 200 "other $uri\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name rw.test;
        location /nc/ {
            rewrite ^/nc/(?!index|remote)(.*)$ /index.php/$1;
            return 200 "kept $uri\n";
        }
        location /if/ {
            if ($uri ~ ^/if/(\w+)/\1$) { return 403; }
            if ($uri ~* ^/if/(?=up)(.*)$) { return 200 "ifci $1\n"; }
            return 200 "if-pass $uri\n";
        }
        location /m/ { return 200 "map $mapped\n"; }
        location ~ ^/redos/(a|aa)+(?!x)$ { return 200 "redos $uri\n"; }
        location /redos/ { return 200 "redos-prefix $uri\n"; }
        location /ifredos/ { if ($uri ~ ^/ifredos/(a|aa)+(?!x)$) { return 200 "matched\n"; } return 200 "no\n"; }
        location /rwredos/ { rewrite ^/rwredos/(a|aa)+(?!x)$ /x; return 200 "no\n"; }
    }`

// pcreGet sends GET path with Host host to addr and returns the status and
// body.
func pcreGet(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPCRELookaround: configurations with PCRE lookahead, lookbehind and
// backreferences answer as nginx 1.22.1 (PCRE2) does. Recorded with
// /work/shared/tools/nginx-diff on the same rules (every answer the same
// but the server's name on error pages). Before package pcre fulcrum
// refused these configurations.
func TestPCRELookaround(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), pcreConf)
	for _, tc := range []struct {
		host, path string
		status     int
		body       string
	}{
		{"la.test", "/.git/config", 403, ""},
		{"la.test", "/.htaccess", 403, ""},
		{"la.test", "/.well-known/x", 200, "nophp /.well-known/x\n"},
		{"la.test", "/setup/index.php", 200, "setup-deny /setup/index.php\n"},
		{"la.test", "/setup/pub/x.php", 200, "other /setup/pub/x.php\n"},
		{"la.test", "/a/b.html", 200, "nophp /a/b.html\n"},
		{"la.test", "/a/b.php", 200, "other /a/b.php\n"},
		{"la.test", "/ab/ab/12.php", 200, "backref first=ab n=12 1=ab 2=12\n"},
		{"la.test", "/ab/ac/12.php", 200, "other /ab/ac/12.php\n"},
		{"la.test", "/ci/caf%C3%89.php", 200, "other /ci/cafÉ.php\n"},
		{"la.test", "/CI/CAF%C3%A9.php", 200, "ci /CI/CAFé.php\n"},
		{"la.test", "/ci/xcaf%C3%A9.php", 200, "other /ci/xcafé.php\n"},
		{"rw.test", "/nc/apps/files", 200, "kept /index.php/apps/files\n"},
		{"rw.test", "/nc/index.php", 200, "kept /nc/index.php\n"},
		{"rw.test", "/nc/remote.php/dav", 200, "kept /nc/remote.php/dav\n"},
		{"rw.test", "/if/ab/ab", 403, ""},
		{"rw.test", "/if/ab/ac", 200, "if-pass /if/ab/ac\n"},
		{"rw.test", "/if/UPx", 200, "ifci UPx\n"},
		{"rw.test", "/m/abc.json", 200, "map json-abc\n"},
		{"rw.test", "/m/abc.txt", 200, "map none\n"},
	} {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			status, body := pcreGet(t, addr, tc.host, tc.path)
			if status != tc.status || tc.body != "" && body != tc.body {
				t.Errorf("%d %q, want %d %q", status, body, tc.status, tc.body)
			}
		})
	}
}

// TestPCREMatchLimit: a catastrophic pattern (exponential backtracking on
// "/redos/aaa...c") ends quickly with 500 and an alert naming the subject
// and the pattern, as nginx 1.22.1's PCRE2 match limit does ("[alert] ...
// pcre2_match() failed: -47 on "/redos/aaa...c" using "^/redos/(a|aa)+(?!x)$""
// and 500, for a location, an if and a rewrite alike, recorded by hand);
// the same server keeps answering other requests.
func TestPCREMatchLimit(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", pcreConf)
	long := strings.Repeat("a", 50) + "c"
	for _, prefix := range []string{"/redos/", "/ifredos/", "/rwredos/"} {
		start := time.Now()
		status, _ := pcreGet(t, addr, "rw.test", prefix+long)
		if took := time.Since(start); status != 500 || took > time.Second {
			t.Errorf("%s: %d after %v, want 500 at once", prefix, status, took)
		}
		pattern := "^" + prefix + "(a|aa)+(?!x)$"
		waitLogged(t, filepath.Join(dir, "error.log"), "[alert]", `regular expression match limit exceeded (20ms) on "`+prefix+long+`" using "`+pattern+`"`)
	}
	if status, body := pcreGet(t, addr, "rw.test", "/redos/aaaa"); status != 200 || body != "redos /redos/aaaa\n" {
		t.Errorf("normal request: %d %q", status, body)
	}
	if status, body := pcreGet(t, addr, "rw.test", "/ifredos/aaaa"); status != 200 || body != "matched\n" {
		t.Errorf("normal if: %d %q", status, body)
	}
}
