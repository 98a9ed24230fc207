package daemon_test

import (
	"testing"
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
