package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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

// pcreLimitConf has a catastrophic pattern (exponential backtracking on
// "aaa...c") in each place other than a location, rewrite or if that runs
// a regex on the request, followed where nginx allows by a regex that
// matches the same subject, so that stopping at the failed match and
// going on to the next one give different answers.
const pcreLimitConf = `
    log_format pl '$status $body_bytes_sent "$request" host=$host';
    access_log %[1]s/access.log pl;
    map $arg_m $m { ~^(a|aa)+(?!x)$ first; ~^a second; default def; }
    server {
        listen 127.0.0.1:0;
        server_name other;
        location / { return 200 "default-server\n"; }
        location /map { return 200 "m=$m\n"; }
        location /ref {
            valid_referers ~^(a|aa)+(?!x)$;
            return 200 "invalid=[$invalid_referer]\n";
        }
        location ~ ^/fcgi/.+\.php/ {
            fastcgi_split_path_info ^(.+?)((?:a|aa)+(?!x)$);
            return 200 "path_info=[$fastcgi_path_info] script=[$fastcgi_script_name]\n";
        }
        location /gz/ {
            alias %[1]s/;
            gzip on; gzip_types text/plain; gzip_min_length 1; gzip_disable "^(a|aa)+(?!x)$";
        }
    }
    server {
        listen 127.0.0.1:0;
        server_name ~^(a|aa)+(?!x)$ ~^a;
        location / { return 200 "regex-server\n"; }
    }`

// TestPCREMatchLimitCallers: a match over the bound in a server_name, a
// map, valid_referers, gzip_disable, fastcgi_split_path_info,
// proxy_redirect or proxy_cookie_* regex does what nginx 1.22.1 does when
// PCRE2's match limit stops it (recorded with "^(a|aa)+(?!x)$" on
// "a"*40+"c"): the "[alert] pcre2_match() failed: -47 on SUBJECT using
// PATTERN" line, then each caller's own answer:
//   - server_name: the request is closed with no answer, logged as 500 0
//     with $host the default server's name, the alert "while reading
//     client request headers";
//   - map: the default value, not a later regex's;
//   - valid_referers: $invalid_referer fails, so it reads empty (valid);
//   - gzip_disable: the response goes out uncompressed, the alert "while
//     sending response to client";
//   - fastcgi_split_path_info: $fastcgi_script_name and $fastcgi_path_info
//     fail (empty), an alert for each;
func TestPCREMatchLimitCallers(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(pcreLimitConf, dir))
	long := strings.Repeat("a", 40) + "c"
	errorLog, accessLog := filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	get := func(t *testing.T, path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	t.Run("server_name", func(t *testing.T) {
		if got := rawReply(t, addr, "GET / HTTP/1.1\r\nHost: "+long+"\r\nConnection: close\r\n\r\n"); got != "" {
			t.Errorf("answer %q, want the connection closed without one", got)
		}
		waitLogged(t, errorLog, "[alert]", `regular expression match limit exceeded (20ms) on "`+long+`" using "^(a|aa)+(?!x)$" while reading client request headers`, `server: other, request: "GET / HTTP/1.1", host: "`+long+`"`)
		waitLogged(t, accessLog, `500 0 "GET / HTTP/1.1" host=other`)
		if status, body := pcreGet(t, addr, "aaaa", "/"); status != 200 || body != "regex-server\n" {
			t.Errorf("host the regex settles: %d %q", status, body)
		}
	})
	t.Run("map", func(t *testing.T) {
		if status, body := pcreGet(t, addr, "other", "/map?m="+long); status != 200 || body != "m=def\n" {
			t.Errorf("%d %q, want 200 \"m=def\"", status, body)
		}
		waitLogged(t, errorLog, "[alert]", `regular expression match limit exceeded (20ms) on "`+long+`" using "^(a|aa)+(?!x)$", client: 127.0.0.1, server: other, request: "GET /map?m=`+long+` HTTP/1.1"`)
		if status, body := pcreGet(t, addr, "other", "/map?m=ab"); status != 200 || body != "m=second\n" {
			t.Errorf("key the regex settles: %d %q", status, body)
		}
	})
	t.Run("valid_referers", func(t *testing.T) {
		resp, body := get(t, "/ref", "Referer", "http://"+long)
		if resp.StatusCode != 200 || body != "invalid=[]\n" {
			t.Errorf("%d %q, want 200 \"invalid=[]\"", resp.StatusCode, body)
		}
		waitLogged(t, errorLog, "[alert]", `regular expression match limit exceeded (20ms) on "`+long+`" using "^(a|aa)+(?!x)$", client: 127.0.0.1, server: other, request: "GET /ref HTTP/1.1"`)
	})
	t.Run("gzip_disable", func(t *testing.T) {
		file := strings.Repeat("a", 5000)
		if err := os.WriteFile(filepath.Join(dir, "big.txt"), []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, "/gz/big.txt", "Accept-Encoding", "gzip", "User-Agent", long)
		if ce := resp.Header.Get("Content-Encoding"); resp.StatusCode != 200 || ce != "" || body != file {
			t.Errorf("%d, Content-Encoding %q, %d bytes; want the file uncompressed", resp.StatusCode, ce, len(body))
		}
		waitLogged(t, errorLog, "[alert]", `regular expression match limit exceeded (20ms) on "`+long+`" using "^(a|aa)+(?!x)$" while sending response to client, client: 127.0.0.1, server: other, request: "GET /gz/big.txt HTTP/1.1"`)
		if resp, _ := get(t, "/gz/big.txt", "Accept-Encoding", "gzip", "User-Agent", "b"); resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("a User-Agent the regex settles: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
	})
	t.Run("fastcgi_split_path_info", func(t *testing.T) {
		path := "/fcgi/x.php/" + long
		if status, body := pcreGet(t, addr, "other", path); status != 200 || body != "path_info=[] script=[]\n" {
			t.Errorf("%d %q, want both empty", status, body)
		}
		want := `regular expression match limit exceeded (20ms) on "` + path + `" using "^(.+?)((?:a|aa)+(?!x)$)", client: 127.0.0.1, server: other, request: "GET ` + path + ` HTTP/1.1"`
		waitLogged(t, errorLog, "[alert]", want)
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			logged, _ := os.ReadFile(errorLog)
			n := strings.Count(string(logged), want)
			if n == 2 { // one line for each variable
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d alerts, want 2:\n%s", n, logged)
			}
		}
		if status, body := pcreGet(t, addr, "other", "/fcgi/x.php/aaaa"); status != 200 || body != "path_info=[aaaa] script=[/fcgi/x.php/]\n" {
			t.Errorf("a path the regex settles: %d %q", status, body)
		}
	})
}

// TestPCREMatchLimitSNI: a regex server_name whose match on the SNI name
// hits its bound fails the handshake with the internal_error alert, as
// nginx 1.22.1's ngx_http_ssl_servername does (recorded: openssl s_client
// gets "tlsv1 alert internal error", and nginx logs "[alert] ...
// pcre2_match() failed: -47 on "aaa...c" using "^(a|aa)+(?!x)$" while SSL
// handshaking, client: 127.0.0.1, server: 127.0.0.1:PORT" then at info
// "SSL_do_handshake() failed (SSL: error:0A0000EA:SSL routines::callback
// failed) while SSL handshaking"); a name it settles quickly gets its
// server.
func TestPCREMatchLimitSNI(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl; server_name other; %s location / { return 200 "default\n"; } }
    server { listen 127.0.0.1:0 ssl; server_name ~^(a|aa)+(?!x)$; %s location / { return 200 "regex\n"; } }`, a, b))
	long := strings.Repeat("a", 40) + "c"
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: long, InsecureSkipVerify: true})
	if err == nil {
		c.Close()
		t.Fatal("handshake succeeded, want the internal_error alert")
	}
	if !strings.Contains(err.Error(), "internal error") {
		t.Errorf("handshake: %v, want the internal_error alert", err)
	}
	errorLog := filepath.Join(dir, "error.log")
	waitLogged(t, errorLog, "[alert]", `regular expression match limit exceeded (20ms) on "`+long+`" using "^(a|aa)+(?!x)$" while SSL handshaking, client: 127.0.0.1, server: `)
	waitLogged(t, errorLog, "[info]", "SSL_do_handshake() failed (SSL: error:0A0000EA:SSL routines::callback failed) while SSL handshaking")
	if _, cn := dialTLS(t, addr, "aaaa"); cn != "b.test" {
		t.Errorf("name the regex settles: certificate %q, want b.test's", cn)
	}
}

// TestPCREBytes: regex locations see the percent-decoded $uri as bytes,
// as nginx 1.22.1's PCRE2 without UTF mode does (recorded with the same
// locations and paths): "." takes one byte of "é", a capture ends inside
// it, ~* folds ASCII only and compares a backreference without case, and
// (?-i) turns folding off.
func TestPCREBytes(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    server {
        listen 127.0.0.1:0;
        location ~ ^/dot/.$ { return 200 "dot1\n"; }
        location ~ ^/dot2/..$ { return 200 "dot2\n"; }
        location ~ ^/cap/(.)(.*)$ { return 200 "cap [$1] [$2]\n"; }
        location ~ "^/hexb/\x{e9}$" { return 200 "hex-e9\n"; }
        location ~* ^/ci/é$ { return 200 "ci-e\n"; }
        location ~* ^/br/(a)\1$ { return 200 "backref-ci\n"; }
        location ~* ^/ni/a(?-i)b$ { return 200 "neg-i\n"; }
        location / { return 200 "none\n"; }
    }`)
	for _, tc := range []struct{ path, body string }{
		{"/dot/%C3%A9", "none\n"},
		{"/dot2/%C3%A9", "dot2\n"},
		{"/cap/%C3%A9x", "cap [\xc3] [\xa9x]\n"},
		{"/hexb/%E9", "hex-e9\n"},
		{"/hexb/%C3%A9", "none\n"},
		{"/ci/%C3%89", "none\n"},
		{"/ci/%C3%A9", "ci-e\n"},
		{"/br/aA", "backref-ci\n"},
		{"/ni/AB", "none\n"},
		{"/ni/Ab", "neg-i\n"},
	} {
		if status, body := pcreGet(t, addr, "localhost", tc.path); status != 200 || body != tc.body {
			t.Errorf("%s: %d %q, want %q", tc.path, status, body, tc.body)
		}
	}
}
