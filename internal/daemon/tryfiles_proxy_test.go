package daemon_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/daemon"
)

// TestTryFilesBeforeProxy: try_files in a location with proxy_pass runs
// before the proxy, as nginx's try_files phase does (every expectation is
// nginx 1.22.1's answer to the same configuration). An entry that exists
// becomes $uri (X-Set shows it) and the request is proxied: without a URI
// part the client's URI goes upstream as received, with one the new $uri's
// rest follows it; a directory entry ($uri/) counts without its slash and
// without index or redirect; the method is not looked at. When no entry
// exists the fallback redirects internally (a URI with its own arguments, a
// named location) or answers its =code.
func TestTryFilesBeforeProxy(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"p/dir", "w"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "p", "exists.txt"), []byte("file"), 0o644); err != nil {
		t.Fatal(err)
	}
	backend := echoBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location /p/ { try_files $uri $uri/ /fallback?x=1; proxy_pass http://%[2]s; proxy_set_header X-Set $uri; }
        location /q/ { try_files $uri @named; proxy_pass http://%[2]s; }
        location /r/ { try_files $uri =404; proxy_pass http://%[2]s; }
        location /u/ { try_files /p/exists.txt =404; proxy_pass http://%[2]s/base/; proxy_set_header X-Set $uri; }
        location /a/ { alias %[1]s/p/; try_files $uri =404; proxy_pass http://%[2]s; proxy_set_header X-Set $uri; }
        location /fallback { proxy_pass http://%[2]s; }
        location @named { return 200 "named $uri"; }
    }`, dir, backend))
	checkAnswers(t, addr, []redirectCase{
		{"/p/exists.txt?a=1", 200, "backend /p/exists.txt?a=1 x-set=/p/exists.txt"},
		{"/p/ex%69sts.txt", 200, "backend /p/ex%69sts.txt x-set=/p/exists.txt"},
		{"/p/dir", 200, "backend /p/dir x-set=/p/dir"},
		{"/p/dir/", 200, "backend /p/dir/ x-set=/p/dir/"},
		{"/p/missing?a=1", 200, "backend /fallback?x=1 x-set="},
		{"/q/missing", 200, "named /q/missing"},
		{"/u/zz?k=1", 200, "backend /base/exists.txt?k=1 x-set=/p/exists.txt"},
		{"/a/exists.txt", 200, "backend /a/exists.txt x-set=/a/exists.txt"},
	})
	// =code, and a method the static module would refuse (405) on a file
	// that exists: proxied, as nginx does.
	resp, err := noRedirects.Get("http://" + addr + "/r/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/r/missing: %d, want 404", resp.StatusCode)
	}
	resp, err = noRedirects.Post("http://"+addr+"/p/exists.txt", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "backend /p/exists.txt x-set=/p/exists.txt" {
		t.Errorf("POST /p/exists.txt: %d %q, want 200 from the backend", resp.StatusCode, body)
	}
}

// TestArgsFoundLikeNginx checks when $args is found but empty (logged as "")
// and when it is not found ("-"), with nginx 1.22.1's access log lines for
// the same configuration and requests: try_files's fallback to a URI always
// leaves it found, "?" or not; an error_page URI only with a '?'; a rewrite
// that gives arguments always; one that ends in '?' only when the request
// had arguments; an index redirect keeps the request's. $is_args is "" for
// all of them, and the backend gets the same URI.
func TestArgsFoundLikeNginx(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "access.log")
	backend := echoBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format t '"$request" [$args][$is_args] $uri';
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        access_log %[3]s t buffer=0;
        location /a/ { try_files $uri /fb; }
        location /b/ { try_files $uri /fb?; }
        location /e/ { try_files $uri /fb?$arg_q; }
        location /h/ { error_page 404 /fb; }
        location /i/ { error_page 404 = /fb?; }
        location /j/ { rewrite ^ /fb?; }
        location /l/ { rewrite ^ /fb?$arg_zz; }
        location /m/ { index /fb; }
        location /fb { proxy_pass http://%[2]s$uri$is_args$args; }
    }`, dir, backend, logPath))
	tests := []struct{ target, body, logged string }{
		{"/a/x", "backend /fb x-set=", "[][]"},
		{"/a/x?q=1", "backend /fb x-set=", "[][]"},
		{"/b/x", "backend /fb x-set=", "[][]"},
		{"/e/x?q=", "backend /fb x-set=", "[][]"},
		{"/e/x?q=2", "backend /fb?2 x-set=", "[2][?]"},
		{"/h/x?q=1", "backend /fb x-set=", "[-][]"},
		{"/i/x", "backend /fb x-set=", "[][]"},
		{"/j/x", "backend /fb x-set=", "[-][]"},
		{"/j/x?q=1", "backend /fb x-set=", "[][]"},
		{"/l/x", "backend /fb x-set=", "[][]"},
		{"/m/", "backend /fb x-set=", "[-][]"},
		{"/m/?", "backend /fb x-set=", "[-][]"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			resp, err := noRedirects.Get("http://" + addr + tc.target)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			waitLogged(t, logPath, `"GET `+tc.target+` HTTP/1.1" `+tc.logged+` /fb`)
		})
	}
}

// TestTryFilesNotInherited: a server's try_files serves only the requests no
// location matches; nginx does not merge try_files into locations, named
// ones included (each expectation is nginx 1.22.1's answer). The Symfony 2
// configurations that write "try_files $uri @rewriteapp;" at the server
// level rely on it: @rewriteapp's rewrite runs instead of looping through
// the server's try_files into @rewriteapp again (fulcrum answered 500,
// "rewrite or internal redirection cycle").
func TestTryFilesNotInherited(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        try_files /nonexist @app;
        location @app { rewrite ^(.*)$ /app.php$1 last; }
        location ~ ^/app\.php(/|$) { return 200 "app $uri"; }
        location /a { }
        location ~ \.txt$ { }
        location /n { error_page 404 = @n; }
        location @n { return 200 "named $uri"; }
    }`, dir))
	checkAnswers(t, addr, []redirectCase{
		{"/blog", 200, "app /app.php/blog"},
		{"/", 200, "app /app.php/"},
		{"/f.txt", 200, "file"},
		{"/n/x", 200, "named /n/x"},
	})
	resp, err := noRedirects.Get("http://" + addr + "/a/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/a/x: %d, want 404 (the location has no try_files)", resp.StatusCode)
	}
}

// TestRootStartingWithVariable: a root whose value starts with a variable is
// not made relative to the prefix, as nginx's ngx_http_core_root leaves it
// (Magento's "set $MAGE_ROOT /var/www/magento; root $MAGE_ROOT/pub;"; each
// expectation is nginx 1.22.1's answer). fulcrum looked under
// PREFIX/$MAGE_ROOT/pub and answered 404 for every file.
func TestRootStartingWithVariable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app", "pub", "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "pub", "media", "a.png"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        set $APP %[1]s/app;
        root $APP/pub;
        location / { try_files $uri $uri/ /index.php?$args; }
        location /media/ { try_files $uri $uri/ /get.php?$args; }
        location /al/ { alias $APP/pub/media/; }
        location ~ \.php$ { return 200 "php $document_root $uri"; }
    }`, dir))
	checkAnswers(t, addr, []redirectCase{
		{"/media/a.png", 200, "x"},
		{"/al/a.png", 200, "x"},
		{"/x", 200, "php " + filepath.Join(dir, "app", "pub") + " /index.php"},
	})
}

// TestRootVariableRelative: a root or alias with variables whose value comes
// out relative is taken from the prefix per request, as nginx's
// ngx_http_map_uri_to_path does with ngx_get_full_name (prefix + value, not
// cleaned: an empty value is the prefix itself). Each answer is nginx
// 1.22.1's to the same configuration; fulcrum answered 500 ("document root
// ... is not an absolute path") to all of them.
func TestRootVariableRelative(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"html/x.txt": "hello", "html/sub/y.txt": "subfile"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /a/ { set $r html; root $r; rewrite ^/a/(.*)$ /$1 break; }
        location /b/ { set $r html/sub/; alias $r; }
        location /c/ { set $r ""; root $r; }
        location ~ ^/e/(.*)$ { set $r html; alias $r/$1; }
        location /dr/ { set $r html; root $r; return 200 "$document_root|$realpath_root"; }
        location /da/ { set $r html/sub/; alias $r; return 200 "$document_root|$realpath_root|$request_filename"; }
    }`)
	notFound := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n" +
		"<hr><center>fulcrum/" + daemon.Version + "</center>\r\n</body>\r\n</html>\r\n"
	checkAnswers(t, addr, []redirectCase{
		{"/a/x.txt", 200, "hello"},
		{"/b/y.txt", 200, "subfile"},
		{"/e/x.txt", 200, "hello"},
		{"/c/html/x.txt", 404, notFound}, // PREFIX/ + "" + /c/html/x.txt
		{"/dr/", 200, dir + "/html|" + real + "/html"},
		{"/da/q", 200, dir + "/html/sub/|" + real + "/html/sub|" + dir + "/html/sub/q"},
	})
	waitLog(t, filepath.Join(dir, "error.log"), `"`+dir+`//c/html/x.txt" failed (2: No such file or directory)`)
}

// TestTryFilesNotInheritedNested: nginx never merges try_files into a lower level
// (ngx_http_core_merge_loc_conf leaves it out), as Discourse's sample
// configuration relies on (try_files in "location /", proxy_pass and
// static-file locations nested in it). Each answer is nginx 1.22.1's to the
// same configuration: a nested location serves by its own handler (the
// static one answers 404 for a missing file, a proxy_pass proxies), a
// server's try_files serves only the requests no location matches, and the
// named location the fallback goes to does not try the files again (fulcrum
// answered 500 there, a redirection cycle).
func TestTryFilesNotInheritedNested(t *testing.T) {
	dir := t.TempDir()
	backend := echoBackend(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        try_files $uri @fb;
        location /a/ { }
        location /p/ { proxy_pass http://%[2]s; }
        location /outer/ {
            try_files $uri @fb;
            location /outer/inner/ { proxy_pass http://%[2]s; }
            location ~ ^/outer/static/ { expires 1y; }
            location ~ ^/outer/re/ { proxy_pass http://%[2]s; break; }
        }
        location @fb { return 200 "named $uri"; }
    }`, dir, backend))
	notFound := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n" +
		"<hr><center>fulcrum/" + daemon.Version + "</center>\r\n</body>\r\n</html>\r\n"
	checkAnswers(t, addr, []redirectCase{
		{"/a/x", 404, notFound},
		{"/p/y", 200, "backend /p/y x-set="},
		{"/zz", 200, "named /zz"},
		{"/outer/inner/a", 200, "backend /outer/inner/a x-set="},
		{"/outer/static/c.js", 404, notFound},
		{"/outer/re/b", 200, "backend /outer/re/b x-set="},
		{"/outer/missing", 200, "named /outer/missing"},
	})
}
