package daemon_test

import (
	"encoding/binary"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/userid"
)

// splitResponse splits what rawExchange received into the status line
// and header fields as sent (names spelled and ordered as on the wire),
// and the body.
func splitResponse(all string) (fields []string, body string) {
	head, b, _ := strings.Cut(all, "\r\n\r\n")
	return strings.Split(head, "\r\n"), b
}

// fieldValues returns the values of the fields named name, in order.
func fieldValues(fields []string, name string) []string {
	var vs []string
	for _, f := range fields[1:] {
		if n, v, ok := strings.Cut(f, ": "); ok && n == name {
			vs = append(vs, v)
		}
	}
	return vs
}

// uidHex is $uid_set's value for the identifier in a Set-Cookie value.
func uidHex(t *testing.T, cookie string) (string, userid.UID) {
	t.Helper()
	_, v, _ := strings.Cut(cookie, "=")
	u, err := userid.Decode(v)
	if err != nil || !u.Valid() {
		t.Fatalf("cookie %q does not decode: %v", cookie, err)
	}
	return string(u.AppendVar(nil, "uid")), u
}

// The cookie nginx 1.22.1 issued in "on" mode for 127.0.0.1 (its
// sequence's first value), and $uid_got for it.
const (
	nginxCookie = "fwAAAWsUrVNlbQXvAwMDAg=="
	nginxGot    = "uid=0100007F53AD146BEF056D6502030303"
)

// TestUserid runs the userid module through the daemon: the cookie's
// format and attributes, $uid_got and $uid_set, the mark, $uid_reset, log
// and off, malformed cookies, and the filter's place and reach (error
// statuses, after add_header), each as nginx 1.22.1 answered.
func TestUserid(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    log_format ids '$request_uri got=$uid_got set=$uid_set';
    access_log `+filepath.Join(dir, "ids.log")+` ids buffer=0;
    server {
        listen 127.0.0.1:0;
        location /on { userid on; userid_expires 1d; userid_domain example.com; userid_path /on;
            userid_flags secure HttpOnly samesite=lax; userid_p3p 'CP="CUR ADM"';
            add_header X-Before yes; return 200 "got=$uid_got set=$uid_set"; }
        location /plain { userid on; return 200 "ok"; }
        location /v1 { userid v1; userid_service 258; return 200 "got=$uid_got set=$uid_set"; }
        location /mark { userid on; userid_mark X; userid_expires max; return 200 "got=$uid_got set=$uid_set"; }
        location /log { userid log; return 200 "got=$uid_got set=$uid_set"; }
        location /off { return 200 "got=$uid_got set=$uid_set"; }
        location /reset { userid on; set $uid_reset $arg_r; return 200 "got=$uid_got set=$uid_set"; }
        location /missing { userid on; userid_name visitor; return 404; }
    }`)
	get := func(target, cookie string) ([]string, string) {
		raw := "GET " + target + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
		if cookie != "" {
			raw += "Cookie: " + cookie + "\r\n"
		}
		return splitResponse(rawExchange(t, addr, raw+"\r\n"))
	}
	now := time.Now()
	tests := []struct {
		name, target, cookie string
		// cookie is the Set-Cookie value wanted: "" for none, "new ..."
		// for a new identifier followed by these attributes.
		want string
		// body is the answer; NEW stands for the new identifier's
		// $uid_set.
		body string
	}{
		{"new, with attributes", "/on", "", "new; expires=" + now.UTC().Add(24*time.Hour).Format("Mon, 02-Jan-06") + " ; domain=example.com; path=/on; secure; httponly; samesite=lax", "got= set=NEW"},
		{"valid cookie kept", "/on", "uid=" + nginxCookie, "", "got=" + nginxGot + " set="},
		{"name compared case-insensitively, among others", "/on", "a=b; UID = fwAAAWsUrVNlbQXvAwMDAg", "", "got=" + nginxGot + " set="},
		{"last word 0: no cookie", "/plain", "uid=AAAAAAAAAAAAAAAAAAAAAA==", "new; path=/", "ok"},
		{"too short", "/plain", "uid=short", "new; path=/", "ok"},
		{"not base64", "/plain", "uid=fwAAAWsUrVNlbQXvAwMD!g==", "new; path=/", "ok"},
		{"unmarked cookie sent again with the mark", "/mark", "uid=" + nginxCookie, "uid=fwAAAWsUrVNlbQXvAwMDAgX=; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/", "got=" + nginxGot + " set=" + nginxGot},
		{"other mark", "/mark", "uid=fwAAAWsUrVNlbQXvAwMDAgY=", "uid=fwAAAWsUrVNlbQXvAwMDAgX=; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/", "got=" + nginxGot + " set=" + nginxGot},
		{"marked cookie kept", "/mark", "uid=fwAAAWsUrVNlbQXvAwMDAgX=", "", "got=" + nginxGot + " set="},
		{"new cookie marked", "/mark", "", "new; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/", "got= set=NEW"},
		{"log reads", "/log", "uid=" + nginxCookie, "", "got=" + nginxGot + " set="},
		{"log sets nothing", "/log", "", "", "got= set="},
		{"off reads nothing", "/off", "uid=" + nginxCookie, "", "got= set="},
		{"reset", "/reset?r=1", "uid=" + nginxCookie, "new; path=/", "got=" + nginxGot + " set=NEW"},
		{"reset 0", "/reset?r=0", "uid=" + nginxCookie, "", "got=" + nginxGot + " set="},
		{"reset log", "/reset?r=log", "uid=" + nginxCookie, "new; path=/", "got=" + nginxGot + " set=NEW"},
		{"error status, own name", "/missing", "", "newvisitor; path=/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, body := get(tt.target, tt.cookie)
			cookies := fieldValues(fields, "Set-Cookie")
			if tt.want == "" {
				if len(cookies) != 0 {
					t.Fatalf("Set-Cookie %q, want none", cookies)
				}
				if body != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
				return
			}
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie %q, want one", cookies)
			}
			c := cookies[0]
			if !strings.HasPrefix(tt.want, "new") {
				if c != tt.want || body != tt.body {
					t.Errorf("Set-Cookie %q body %q\nwant       %q body %q", c, body, tt.want, tt.body)
				}
				return
			}
			name := "uid"
			attrs := strings.TrimPrefix(tt.want, "new")
			if n, a, ok := strings.Cut(attrs, ";"); ok && n != "" {
				name, attrs = n, ";"+a
			}
			re := regexp.MustCompile(`^` + name + `=[A-Za-z0-9+/]{22}(==|X=)` + regexp.QuoteMeta(attrs) + `$`)
			if strings.Contains(attrs, "expires=") && !strings.Contains(attrs, "-37 ") {
				// the time of day is the response's: match the date only
				date, rest, _ := strings.Cut(attrs, " ;")
				re = regexp.MustCompile(`^uid=[A-Za-z0-9+/]{22}==` + regexp.QuoteMeta(date) + ` \d\d:\d\d:\d\d GMT;` + regexp.QuoteMeta(rest) + `$`)
			}
			if !re.MatchString(c) {
				t.Fatalf("Set-Cookie %q, want %s", c, re)
			}
			hex, u := uidHex(t, c)
			if want := strings.ReplaceAll(tt.body, "NEW", hex); name == "uid" && body != want {
				t.Errorf("body %q, want %q", body, want)
			}
			if u[0] != 127 || u[1] != 0 || u[2] != 0 || u[3] != 1 {
				t.Errorf("service % x, want the server's address 127.0.0.1", u[0:4])
			}
			if secs := int64(binary.BigEndian.Uint32(u[4:])); secs < now.Unix()-5 || secs > time.Now().Unix()+5 {
				t.Errorf("time %d, want about %d", secs, now.Unix())
			}
			if u[12] != 0x03 || u[15] != 0x02 {
				t.Errorf("sequence % x, want nginx's 0x03030302 + n*0x100", u[12:])
			}
		})
	}

	t.Run("P3P after the cookie, add_header before", func(t *testing.T) {
		fields, _ := get("/on", "")
		var order []string
		for _, f := range fields[1:] {
			n, _, _ := strings.Cut(f, ": ")
			if n == "X-Before" || n == "Set-Cookie" || n == "P3P" {
				order = append(order, n)
			}
		}
		if strings.Join(order, ",") != "X-Before,Set-Cookie,P3P" {
			t.Errorf("fields %q, want X-Before, Set-Cookie, P3P", order)
		}
		if p := fieldValues(fields, "P3P"); len(p) != 1 || p[0] != `CP="CUR ADM"` {
			t.Errorf("P3P %q", p)
		}
	})

	t.Run("unique and sequential", func(t *testing.T) {
		f1, _ := get("/plain", "")
		f2, _ := get("/plain", "")
		_, u1 := uidHex(t, fieldValues(f1, "Set-Cookie")[0])
		_, u2 := uidHex(t, fieldValues(f2, "Set-Cookie")[0])
		s1, s2 := binary.BigEndian.Uint32(u1[12:]), binary.BigEndian.Uint32(u2[12:])
		if s2-s1 != 0x100 || u1 == u2 {
			t.Errorf("sequences %#x then %#x, want a step of 0x100", s1, s2)
		}
	})

	t.Run("v1", func(t *testing.T) {
		fields, body := get("/v1", "")
		c := fieldValues(fields, "Set-Cookie")
		if len(c) != 1 {
			t.Fatalf("Set-Cookie %q", c)
		}
		hex, u := uidHex(t, c[0])
		if body != "got= set="+hex {
			t.Errorf("body %q, want set=%s", body, hex)
		}
		// v1: the words in the machine's order, the service as written,
		// the sequence from 1.
		if svc, seq := binary.LittleEndian.Uint32(u[0:]), binary.LittleEndian.Uint32(u[12:]); svc != 258 || seq&0xff != 1 {
			t.Errorf("service %d, sequence %#x; want 258 and 1 + n*0x100", svc, seq)
		}
		if !strings.HasPrefix(hex, "uid=00000102") {
			t.Errorf("$uid_set %q, want the service 00000102 first", hex)
		}
	})

	errLog := filepath.Join(dir, "error.log")
	waitLogged(t, errLog, `[error]`, `client sent too short userid cookie "uid=short"`, `request: "GET /plain HTTP/1.1"`)
	waitLogged(t, errLog, `[error]`, `client sent invalid userid cookie "uid=fwAAAWsUrVNlbQXvAwMD!g=="`)
	waitLogged(t, errLog, `[notice]`, `userid cookie "`+nginxGot+`" was reset`)
	waitLogged(t, filepath.Join(dir, "ids.log"), "/reset?r=0 got="+nginxGot+" set=")
	waitLogged(t, filepath.Join(dir, "ids.log"), "/mark got="+nginxGot+" set="+nginxGot)
}

// TestUseridClient: the cookie reaches a net/http client whole (a
// check that the field is one value, not split at its "; ").
func TestUseridClient(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server { listen 127.0.0.1:0; userid on; location / { return 200 "$uid_set"; } }`)
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != "uid" || cs[0].Path != "/" {
		t.Fatalf("cookies %v", cs)
	}
	if hex, _ := uidHex(t, "uid="+cs[0].Value); string(body) != hex {
		t.Errorf("body %q, cookie's identifier %q", body, hex)
	}
}
