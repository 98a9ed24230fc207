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
	"time"
)

// authConf protects locations of a proxying server with auth_basic, allow
// and deny, satisfy and limit_except. %[1]s is the directory, %[2]s the
// backend. Every status and log line the test expects was checked against
// nginx 1.22.1 with the same configuration.
const authConf = `
    access_log off;
    proxy_set_header X-User $remote_user;
    auth_basic_user_file %[1]s/users;
    server {
        listen 127.0.0.1:0;
        location /a { auth_basic "Realm \"q\" $host"; proxy_pass http://%[2]s; }
        location /missing { auth_basic x; auth_basic_user_file %[1]s/nope; proxy_pass http://%[2]s; }
        location /dir { auth_basic x; auth_basic_user_file %[1]s; proxy_pass http://%[2]s; }
        location /allall { deny all; auth_basic x; proxy_pass http://%[2]s; }
        location /allany { satisfy any; deny all; auth_basic x; proxy_pass http://%[2]s; }
        location /anymiss { satisfy any; deny all; auth_basic x; auth_basic_user_file %[1]s/nope; proxy_pass http://%[2]s; }
        location /anyallow { satisfy any; allow 127.0.0.1; deny all; auth_basic x; proxy_pass http://%[2]s; }
        location /anynomatch { satisfy any; allow 10.0.0.0/8; auth_basic x; proxy_pass http://%[2]s; }
        location /anynoauth { satisfy any; deny all; proxy_pass http://%[2]s; }
        location /realmoff { set $r off; auth_basic $r; proxy_pass http://%[2]s; }
        location /le {
            limit_except GET { deny all; }
            if ($arg_if) { set $y 1; }
            proxy_pass http://%[2]s;
            location /le/nested { proxy_pass http://%[2]s; }
        }
        location /lp { limit_except post { auth_basic pp; } proxy_pass http://%[2]s; }
    }
`

// authUsers is the user file: one user per password scheme.
const authUsers = `alice:{PLAIN}secret
# carol:{PLAIN}commented
bob:$apr1$abc$NKxAkoTtUloZMd1uGIvNG0
sha:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=
md5:$1$abc$Kb85XxsXB.VXinPhbS4431:with a comment
sha6:$6$abc$MtSdWSZbhct2oe.SOqOUM2M/GA/uj5.vyVtJgRHgKi9uqXuWuJqOYE7H/YlsYGVg/YYzDV0xt3fEIwYt580.5.
bc:$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q
des:abzlUXK5ed5rs
garbage:*
`

func TestAuthBasic(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(authUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(authConf, dir, userEchoBackend(t)))
	tests := []struct {
		name, method, path, user string
		status                   int
		// body is the backend's answer for a request let in; realm is the
		// WWW-Authenticate field of a 401; log is "level message" of a
		// line of the error log.
		body, realm, log string
	}{
		{"plain", "GET", "/a", "alice:secret", 200, "GET user=alice", "", ""},
		{"wrong password", "GET", "/a", "alice:bad", 401, "", `Basic realm="Realm "q" h.test"`, `error user "alice": password mismatch, client: 127.0.0.1, server: , request: "GET /a HTTP/1.1", host: "h.test"`},
		{"apr1", "GET", "/a", "bob:pw", 200, "GET user=bob", "", ""},
		{"sha", "GET", "/a", "sha:pw", 200, "GET user=sha", "", ""},
		{"md5 with a comment", "GET", "/a", "md5:pw", 200, "GET user=md5", "", ""},
		{"sha512", "GET", "/a", "sha6:pw", 200, "GET user=sha6", "", ""},
		{"bcrypt", "GET", "/a", "bc:pw", 200, "GET user=bc", "", ""},
		{"failure token", "GET", "/a", "garbage:pw", 401, "", `Basic realm="Realm "q" h.test"`, `error user "garbage": password mismatch`},
		{"des is refused", "GET", "/a", "des:pw", 500, "", "", `crit crypt() failed: fulcrum cannot check the password hash of user "des"`},
		{"unknown user", "GET", "/a", "nobody:x", 401, "", `Basic realm="Realm "q" h.test"`, `error user "nobody" was not found in "` + dir + `/users"`},
		{"commented user", "GET", "/a", "carol:commented", 401, "", `Basic realm="Realm "q" h.test"`, `error user "carol" was not found`},
		{"no credentials", "GET", "/a", "", 401, "", `Basic realm="Realm "q" h.test"`, `info no user/password was provided for basic authentication, client: 127.0.0.1`},
		{"missing file", "GET", "/missing", "a:b", 403, "", "", `error open() "` + dir + `/nope" failed (2: No such file or directory)`},
		{"unreadable file", "GET", "/dir", "a:b", 500, "", "", `crit pread() "` + dir + `" failed (21: Is a directory)`},
		{"all: deny wins", "GET", "/allall", "alice:secret", 403, "", "", ""},
		{"any: no login", "GET", "/allany", "", 401, "", `Basic realm="x"`, ""},
		{"any: login", "GET", "/allany", "alice:secret", 200, "GET user=alice", "", ""},
		{"any: no login, missing file", "GET", "/anymiss", "", 401, "", `Basic realm="x"`, ""},
		{"any: login, missing file", "GET", "/anymiss", "alice:secret", 403, "", "", ""},
		{"any: allowed", "GET", "/anyallow", "", 200, "GET user=", "", ""},
		{"any: no rule matches", "GET", "/anynomatch", "", 401, "", `Basic realm="x"`, ""},
		{"any: no auth", "GET", "/anynoauth", "", 403, "", "", ""},
		{"realm off by a variable", "GET", "/realmoff", "", 200, "GET user=", "", ""},
		{"limit_except: GET", "GET", "/le", "", 200, "GET user=", "", ""},
		{"limit_except: HEAD", "HEAD", "/le", "", 200, "", "", ""},
		{"limit_except: POST", "POST", "/le", "", 403, "", "", ""},
		{"limit_except: unknown method", "FOO", "/le", "", 403, "", "", ""},
		{"limit_except: POST in an if", "POST", "/le?if=1", "", 403, "", "", ""},
		{"limit_except: nested location", "POST", "/le/nested", "", 200, "POST user=", "", ""},
		{"limit_except auth: GET", "GET", "/lp", "", 401, "", `Basic realm="pp"`, ""},
		{"limit_except auth: POST", "POST", "/lp", "", 200, "POST user=", "", ""},
		{"limit_except auth: PUT with login", "PUT", "/lp", "alice:secret", 200, "PUT user=alice", "", ""},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "h.test"
			if user, pass, ok := strings.Cut(tt.user, ":"); ok {
				req.SetBasicAuth(user, pass)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			// Go's client files the field as Www-Authenticate; the
			// integration test checks nginx's spelling on the wire.
			if got := resp.Header.Values("WWW-Authenticate"); tt.realm != "" && (len(got) != 1 || got[0] != tt.realm) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.realm)
			} else if tt.realm == "" && got != nil {
				t.Errorf("WWW-Authenticate %q on a %d", got, resp.StatusCode)
			}
			if tt.log != "" {
				waitForLog(t, filepath.Join(dir, "error.log"), tt.log)
			}
		})
	}
}

// TestAuthBasicFileChanges checks that an edited user file takes effect
// without a reload, as nginx reads it on every request.
func TestAuthBasicFileChanges(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	write := func(content string, mod time.Time) {
		t.Helper()
		writeDated(t, users, []byte(content), mod)
	}
	base := time.Now().Add(-time.Hour)
	write("alice:{PLAIN}one\n", base)
	addr := startDaemon(t, dir, fmt.Sprintf(`access_log off;
    server {
        listen 127.0.0.1:0;
        location / { auth_basic r; auth_basic_user_file %s; proxy_pass http://%s; }
    }`, users, userEchoBackend(t)))
	status := func(password string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.SetBasicAuth("alice", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := []int{status("one"), status("two")}; got[0] != 200 || got[1] != 401 {
		t.Fatalf("before the edit: %v, want [200 401]", got)
	}
	write("alice:{PLAIN}two\n", base.Add(time.Second))
	if got := []int{status("one"), status("two")}; got[0] != 401 || got[1] != 200 {
		t.Fatalf("after the edit: %v, want [401 200]", got)
	}
}

// userEchoBackend answers with the method and the X-User field (which the
// configurations set from $remote_user).
func userEchoBackend(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s user=%s", r.Method, r.Header.Get("X-User"))
	}))
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

// waitForLog polls the error log at path until it has a line at level
// with the message, as "level message" in want.
func waitForLog(t *testing.T, path, want string) {
	t.Helper()
	level, msg, _ := strings.Cut(want, " ")
	waitForLogMatch(t, path, level, regexp.QuoteMeta(msg), want)
}

// waitForLogMatch is waitForLog with the message as a regular expression,
// msgRE; want names it in the failure.
func waitForLogMatch(t *testing.T, path, level, msgRE, want string) {
	t.Helper()
	re := regexp.MustCompile(`\[` + level + `\] \d+#\d+: \*\d+ ` + msgRE)
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("error log has no %q:\n%s", want, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAuthBasicUserFileVariableRelative: a relative path that
// auth_basic_user_file's variables give is taken from the configuration's
// directory, as nginx's conf_prefix complex value does (nginx-tests'
// auth_basic.t; recorded with nginx 1.22.1 for auth_basic_user_file $arg_f:
// ?f=htpasswd 200, ?f=nx 403 with open() "PREFIX/nx" failed (2: No such
// file or directory), no f 500 with pread() "PREFIX/" failed (21: Is a
// directory)). fulcrum opened "htpasswd" in its working directory: 403.
func TestAuthBasicUserFileVariableRelative(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("alice:{PLAIN}secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `access_log off;
    server {
        listen 127.0.0.1:0;
        location / { auth_basic r; auth_basic_user_file $arg_f; root %[1]s; }
    }`)
	status := func(query string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/htpasswd"+query, nil)
		req.SetBasicAuth("alice", "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("?f=htpasswd"); got != 200 {
		t.Errorf("?f=htpasswd: %d, want 200", got)
	}
	errLog := filepath.Join(dir, "error.log")
	if got := status("?f=nx"); got != 403 {
		t.Errorf("?f=nx: %d, want 403", got)
	}
	waitForLog(t, errLog, `error open() "`+dir+`/nx" failed (2: No such file or directory)`)
	if got := status(""); got != 500 {
		t.Errorf("no f: %d, want 500", got)
	}
	waitForLog(t, errLog, `crit pread() "`+dir+`/" failed (21: Is a directory)`)
}
