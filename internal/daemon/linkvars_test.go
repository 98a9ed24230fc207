package daemon_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// The answers below are nginx 1.22.1's for the same configuration
// (nginx-diff, and curl against nginx with these locations).

func md5URL(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSecureLinkAndReferer sends requests through the daemon and checks
// $secure_link, $secure_link_expires and $invalid_referer where nginx's
// usual patterns use them: in if, return and add_header, at the server
// level and in locations, with and without the directives.
func TestSecureLinkAndReferer(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        server_name site.test *.site.test;
        valid_referers none blocked server_names;
        if ($invalid_referer) { return 403 "server-level refusal"; }
        location /s/ {
            secure_link $arg_md5,$arg_e;
            secure_link_md5 "$secure_link_expires$uri secret";
            if ($secure_link = "") { return 403 "bad link"; }
            if ($secure_link = "0") { return 410 "expired"; }
            add_header X-Expires $secure_link_expires;
            return 200 "[$secure_link][$secure_link_expires]";
        }
        location /order/ {
            secure_link $arg_md5,$arg_e;
            secure_link_md5 "$secure_link_expires$uri secret";
            return 200 "[$secure_link_expires][$secure_link]";
        }
        location /p/ {
            secure_link_secret sec;
            if ($secure_link = "") { return 403 "bad link"; }
            return 200 "[$secure_link]";
        }
        location /img/ {
            valid_referers ex.com/gallery/ ~\.cdn\.test$;
            if ($invalid_referer) { return 403 "hotlink"; }
            return 200 "[$invalid_referer]";
        }
        location /plain/ { return 200 "[$secure_link][$secure_link_expires]"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name other.test;
        location / { return 200 "[$invalid_referer]"; }
        location /set {
            valid_referers good.test;
            set $invalid_referer "x";
            return 200 "[$invalid_referer]";
        }
    }
    server {
        listen 127.0.0.1:0;
        server_name img.test;
        location /img/ {
            valid_referers ex.com/gallery/ ~\.cdn\.test$;
            if ($invalid_referer) { return 403 "hotlink"; }
            return 200 "[$invalid_referer]";
        }
    }`)
	now := time.Now().Unix()
	fut, past := strconv.FormatInt(now+3600, 10), strconv.FormatInt(now-10, 10)
	good := "/s/f.txt?md5=" + md5URL(fut+"/s/f.txt secret") + "&e=" + fut
	old := "/s/f.txt?md5=" + md5URL(past+"/s/f.txt secret") + "&e=" + past
	secret := "/p/" + md5Hex("link/a?b=1sec") + "/link/a?b=1"
	tests := []struct {
		name, target, fields string
		status               int
		body                 string
	}{
		{"valid link", good, "", 200, "[1][" + fut + "]"},
		{"expired link", old, "", 410, "expired"},
		{"wrong hash", "/s/f.txt?md5=" + md5URL("x") + "&e=" + fut, "", 403, "bad link"},
		{"no hash", "/s/f.txt", "", 403, "bad link"},
		{"expiry not a number", "/s/f.txt?md5=" + md5URL(fut+"/s/f.txt secret") + "&e=x", "", 403, "bad link"},
		{"expires read first", "/order/f.txt?md5=" + md5URL(fut+"/order/f.txt secret") + "&e=" + fut, "", 200, "[][]"},
		{"secret form", secret, "", 200, "[link/a?b=1]"},
		{"secret form, other arguments", "/p/" + md5Hex("link/a?b=1sec") + "/link/a?b=2", "", 403, "bad link"},
		{"no secure_link here", "/plain/x", "", 200, "[][]"},
		{"own server as referer", "/plain/x", "Referer: https://www.site.test/page\r\n", 200, "[][]"},
		{"foreign referer at the server", "/plain/x", "Referer: http://evil.test/\r\n", 403, "server-level refusal"},
		{"blocked referer", "/plain/x", "Referer: example\r\n", 200, "[][]"},
		// $invalid_referer is computed once per request: the server's if
		// reads it first, with the server's valid_referers, and the location
		// gets that value, as in nginx.
		{"computed at the server level", "/img/a.png", "Referer: http://EX.com:8080/gallery/1\r\n", 403, "server-level refusal"},
		{"no referer, server level", "/img/a.png", "", 200, "[]"},
		{"gallery referer", "/img/a.png", "Host: img.test\r\nReferer: http://EX.com:8080/gallery/1\r\n", 200, "[]"},
		{"other path", "/img/a.png", "Host: img.test\r\nReferer: http://ex.com/other\r\n", 403, "hotlink"},
		{"regex", "/img/a.png", "Host: img.test\r\nReferer: https://img.cdn.test\r\n", 200, "[]"},
		{"no referer where none is not listed", "/img/a.png", "Host: img.test\r\n", 403, "hotlink"},
		{"first of two fields", "/img/a.png", "Host: img.test\r\nReferer: http://ex.com/gallery/\r\nReferer: http://evil.test/\r\n", 200, "[]"},
		{"first of two fields, refused", "/img/a.png", "Host: img.test\r\nReferer: http://evil.test/\r\nReferer: http://ex.com/gallery/\r\n", 403, "hotlink"},
		{"no valid_referers", "/", "Host: other.test\r\nReferer: http://evil.test/\r\n", 200, "[]"},
		// set changes $invalid_referer, as in nginx 1.22.1 ([x] with and
		// without a refused referer).
		{"set", "/set", "Host: other.test\r\nReferer: http://evil.test/\r\n", 200, "[x]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := "Host: site.test\r\n"
			if tt.fields != "" && tt.fields[:5] == "Host:" {
				host = ""
			}
			resp, body := exchange(t, addr, fmt.Sprintf("GET %s HTTP/1.1\r\n%s%sConnection: close\r\n\r\n", tt.target, host, tt.fields))
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status == 200 && tt.target == good {
				if got := resp.Header.Get("X-Expires"); got != fut {
					t.Errorf("X-Expires %q, want %q", got, fut)
				}
			}
		})
	}
}

// TestLinkVariablesSet: set may not change $secure_link or
// $secure_link_expires (nginx 1.22.1: the duplicate "secure_link"
// variable); $invalid_referer it may (TestSecureLinkAndReferer, "set").
func TestLinkVariablesSet(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"secure_link", `set $secure_link "y";`, `the duplicate "secure_link" variable in `},
		{"secure_link_expires", `location / { set $secure_link_expires "z"; }`, `the duplicate "secure_link_expires" variable in `},
		{"invalid_referer", `set $invalid_referer "x";`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkServerLine(t, tt.conf, tt.want) })
	}
}
