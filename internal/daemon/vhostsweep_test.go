package daemon_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSplitPathInfoInherited: fastcgi_split_path_info is allowed in http
// and server too (nginx 1.22 registers it for main, server and location
// configuration, though its page says location), and a location without
// its own inherits the nearest one, as Virtualmin's generated server
// blocks rely on. Recorded with nginx 1.22.1: with the http level's
// "^(.+\.cgi)(/.+)$" and the server's "^(.+\.php)(/.+)$", /a.php/b/c gives
// [/a.php][/b/c] and /a.cgi/b [/a.cgi/b][]; in a server without its own,
// /a.cgi/b gives [/a.cgi][/b].
func TestSplitPathInfoInherited(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    fastcgi_split_path_info "^(.+\.cgi)(/.+)$";
    server {
        listen 127.0.0.1:0;
        location / { return 200 "[$fastcgi_script_name][$fastcgi_path_info]\n"; }
        location /srv/ {
            fastcgi_split_path_info "^(.+\.php)(/.+)$";
            return 200 "[$fastcgi_script_name][$fastcgi_path_info]\n";
        }
    }`)
	for _, c := range []struct{ path, want string }{
		{"/a.cgi/b", "[/a.cgi][/b]\n"},
		{"/a.php/b", "[/a.php/b][]\n"},
		{"/srv/a.php/b/c", "[/srv/a.php][/b/c]\n"},
		{"/srv/a.cgi/b", "[/srv/a.cgi/b][]\n"},
	} {
		if body := getBody(t, addr, c.path); body != c.want {
			t.Errorf("%s: %q, want %q", c.path, body, c.want)
		}
	}
}

// TestRootTrailingSlash: a root's trailing slash is dropped at load, as
// ngx_http_core_root drops it, so ISPConfig's "root .../web/;" gives file
// names and $document_root without "//"; "root /;" leaves nginx an empty
// root, whose file names are the URI itself. Recorded with nginx 1.22.1:
// root /tmp/x/ gives open() "/tmp/x/fnot" failed, $document_root
// "/tmp/x"; root / gives [][/c/z]; root /tmp// keeps one slash.
func TestRootTrailingSlash(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+dir+`/;
        location /v/ { return 200 "[$document_root][$request_filename]\n"; }
        location /two/ { root `+dir+`//; return 200 "[$document_root][$request_filename]\n"; }
        location /fs/ { root /; return 200 "[$document_root][$request_filename]\n"; }
        location ^~ `+dir+`/ { root /; }
    }`)
	for _, c := range []struct{ path, want string }{
		{"/v/a", "[" + dir + "][" + dir + "/v/a]\n"},
		{"/two/a", "[" + dir + "/][" + dir + "//two/a]\n"},
		{"/fs/a", "[][/fs/a]\n"},
		{"/f.txt", "file\n"},
		{dir + "/f.txt", "file\n"},
	} {
		if body := getBody(t, addr, c.path); body != c.want {
			t.Errorf("%s: %q, want %q", c.path, body, c.want)
		}
	}
	resp, err := noRedirects.Get("http://" + addr + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/missing: %d, want 404", resp.StatusCode)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error open() "`+dir+`/missing" failed (2: No such file or directory)`)
}

// TestInvalidHostDefaultServer: a Host nginx finds invalid (empty, "a..b")
// is refused in the listener's default server, whose error_page answers
// and whose access and error logs have the request, not in the server that
// takes requests without a Host (server_name ""): nginx refuses it as it
// reads the Host line. A request with no Host at all still belongs to the
// "" server. Recorded with nginx 1.22.1 (this configuration): "default
// page" for both invalid hosts, "_ [_] 400" in def.log, "server: _" in
// their error lines; the HTTP/1.1 request without Host gets "empty page".
func TestInvalidHostDefaultServer(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    log_format s '$server_name [$host] $status';
    server {
        listen 127.0.0.1:0 default_server;
        server_name _;
        access_log `+dir+`/def.log s;
        error_page 400 /e400;
        location = /e400 { return 200 "default page\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name "";
        access_log `+dir+`/empty.log s;
        error_page 400 /e400;
        location = /e400 { return 200 "empty page\n"; }
        location / { return 200 "empty-server\n"; }
    }`)
	for _, c := range []struct{ head, want, log, line string }{
		{"GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", "default page\n", "def.log", "_ [_] 400"},
		{"GET / HTTP/1.1\r\nHost: a..b\r\nConnection: close\r\n\r\n", "default page\n", "def.log", "_ [_] 400"},
		{"GET / HTTP/1.0\r\n\r\n", "empty-server\n", "empty.log", " [] 200"},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "empty page\n", "empty.log", " [] 400"},
	} {
		got := rawReply(t, addr, c.head)
		if _, body, _ := strings.Cut(got, "\r\n\r\n"); body != c.want {
			t.Errorf("%q: %q, want the body %q", c.head, got, c.want)
		}
		waitForAccessLine(t, filepath.Join(dir, c.log), c.line, 5*time.Second)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `info client sent invalid host header while reading client request headers, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "a..b"`)
}

// TestLimitExceptAfterRewriteLast: a "rewrite ... last" that leads to a
// location with limit_except serves a restricted method with the block's
// configuration, as nginx's find config phase does after the location is
// searched again: the location's script (set, if, return) does not run, so
// "deny all" answers 403. This is the NGINX API gateway's policy section
// (location /api/... { rewrite ^ /_warehouse last; } location =
// /_warehouse { internal; set $api_name ...; limit_except GET POST { deny
// all; } }). Recorded with nginx 1.22.1 (this configuration): DELETE /x
// and DELETE /x?k=1 are 403 with $w empty in the access log; GET /x is
// 401 and GET /x?k=1 200 "y [y]".
func TestLimitExceptAfterRewriteLast(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    log_format s '$request_method $uri $status [$w]';
    access_log `+dir+`/a.log s;
    server {
        listen 127.0.0.1:0;
        location /x { rewrite ^ /y last; }
        location = /y {
            internal;
            set $w y;
            if ($arg_k = "") { return 401; }
            limit_except GET POST { deny all; }
            return 200 "y [$w]\n";
        }
    }`)
	for _, c := range []struct {
		method, path string
		code         int
		line         string
	}{
		{"GET", "/x", 401, "GET /y 401 [y]"},
		{"GET", "/x?k=1", 200, "GET /y 200 [y]"},
		{"DELETE", "/x", 403, "DELETE /y 403 []"},
		{"DELETE", "/x?k=1", 403, "DELETE /y 403 []"},
	} {
		req, err := http.NewRequest(c.method, "http://"+addr+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.code)
		}
		waitForAccessLine(t, filepath.Join(dir, "a.log"), c.line, 5*time.Second)
	}
}

// TestHTTPLevelAccessLogOpened: the http level's access_log file is opened
// (created empty) even when every server has its own, as nginx opens every
// access_log it reads; without one at the http level, the default
// logs/access.log is not created when no server uses it. Recorded with
// nginx 1.22.1: http.log and s.log exist, both empty, and logs/access.log
// does not. A fail2ban jail or logrotate rule on http.log finds its file.
func TestHTTPLevelAccessLogOpened(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log `+dir+`/http.log;
    server {
        listen 127.0.0.1:0;
        access_log `+dir+`/s.log;
        location /x { access_log off; return 204; }
    }`)
	resp, err := noRedirects.Get("http://" + addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, f := range []string{"http.log", "s.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v, want the file opened at start", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "access.log")); err == nil {
		t.Errorf("logs/access.log was created: no level uses the default log")
	}
}

// TestServerNameHostname: "server_name $hostname;" names the machine's
// host name, lower-cased, as nginx reads it at load; a Host of the literal
// "$hostname" is not that server's. Recorded with nginx 1.22.1 on a
// machine named vm: Host vm gets "named [vm] [vm]", Host $hostname the
// default server.
func TestServerNameHostname(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" || strings.ContainsAny(host, "$ ") {
		t.Skip("no usable host name")
	}
	host = strings.ToLower(host)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server { listen 127.0.0.1:0; server_name $hostname; return 200 "named [$server_name] [$host]\n"; }
    server { listen 127.0.0.1:0 default_server; return 200 "def\n"; }`)
	if got, want := getBody(t, addr, "/", "Host", host), "named ["+host+"] ["+host+"]\n"; got != want {
		t.Errorf("Host %s: %q, want %q", host, got, want)
	}
	if got := getBody(t, addr, "/", "Host", "$hostname"); got != "def\n" {
		t.Errorf("Host $hostname: %q, want the default server's", got)
	}
}

// TestMissingNamedLocation: an error_page or try_files that names a named
// location the server lacks (a forgotten include of api_json_errors.conf
// under "error_page 404 = @400;") fails the request with 500 and "could
// not find named location", in the location that named it: its own
// error_page 500 applies unless an error page was already used. Recorded
// with nginx 1.22.1 (this configuration): /a and /d 500 with the plain
// page, /c 500 "e500 page", one error line each.
func TestMissingNamedLocation(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+dir+`/none;
        error_page 404 = @400;
        location /a { return 404; }
        location /c { error_page 500 /e500; try_files $uri @nothere; }
        location /d { error_page 500 /e500; error_page 404 = @missing; return 404; }
        location = /e500 { return 200 "e500 page\n"; }
    }`)
	for _, c := range []struct{ path, named, body string }{
		{"/a", "@400", "500 Internal Server Error"},
		{"/c", "@nothere", "e500 page\n"},
		{"/d", "@missing", "500 Internal Server Error"},
	} {
		resp, err := noRedirects.Get("http://" + addr + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || !strings.Contains(string(b), c.body) {
			t.Errorf("%s: %d %q, want 500 with %q", c.path, resp.StatusCode, b, c.body)
		}
		waitForLog(t, filepath.Join(dir, "error.log"), `error could not find named location "`+c.named+`", client: 127.0.0.1, server: , request: "GET `+c.path+` HTTP/1.1"`)
	}
}

// TestMissingNamedLocationLevelLog: "could not find named location" goes
// to the error_log of the location that named it, as nginx 1.22.1 writes
// it (recorded: location / { error_log loc.log; try_files $uri @nothere; }
// and an error_page 404 = @gone in another location each put the line in
// their location's log, none in the main one).
func TestMissingNamedLocationLevelLog(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+dir+`/none;
        location /c { error_log `+dir+`/c.log; try_files $uri @nothere; }
        location /e { error_log `+dir+`/e.log; error_page 404 = @gone; return 404; }
    }`)
	for _, c := range []struct{ path, named, log string }{
		{"/c", "@nothere", "c.log"},
		{"/e", "@gone", "e.log"},
	} {
		resp, err := noRedirects.Get("http://" + addr + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("%s: %d, want 500", c.path, resp.StatusCode)
		}
		waitForLog(t, filepath.Join(dir, c.log), `error could not find named location "`+c.named+`", client: 127.0.0.1, server: , request: "GET `+c.path+` HTTP/1.1"`)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "error.log")); strings.Contains(string(data), "could not find") {
		t.Errorf("error.log has the line:\n%s", data)
	}
}

// TestSubrequestErrorLine: an error line written while an auth_request
// subrequest runs names it (", subrequest: "/nope""), as nginx's error log
// handler does for any r != r->main. Recorded with nginx 1.22.1: open()
// ".../nope" failed (2: No such file or directory), client: 127.0.0.1,
// server: _, request: "GET /d HTTP/1.1", subrequest: "/nope", host: ...
func TestSubrequestErrorLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d"), []byte("d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        server_name _;
        root `+dir+`;
        location /d { auth_request /nope; }
    }`)
	resp, err := noRedirects.Get("http://" + addr + "/d")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("/d: %d, want 500 (auth request unexpected status: 404)", resp.StatusCode)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error open() "`+dir+`/nope" failed (2: No such file or directory), client: 127.0.0.1, server: _, request: "GET /d HTTP/1.1", subrequest: "/nope", host:`)
}

// TestBesideRootErrno: a URI without its leading slash (the common
// "rewrite ^(.*)$ index.php?q=$1 break;") makes root + "index.php", a name
// beside the document root that fulcrum never opens; its error line says
// what nginx's failed open() says. Recorded with nginx 1.22.1: 404 and
// open() "/tmp/wt-vhost/ngx/wwwindex.php" failed (2: No such file or
// directory).
func TestBesideRootErrno(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+dir+`/www;
        location /app { rewrite ^(.*)$ index.php?q=$1 break; }
    }`)
	resp, err := noRedirects.Get("http://" + addr + "/app/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/app/x: %d, want 404", resp.StatusCode)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error open() "`+dir+`/wwwindex.php" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /app/x HTTP/1.1"`)
}
