package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestBareQuestionMark: a request target ending in a bare '?' has no
// arguments, as in nginx 1.22.1: $args and $query_string are not found ("-"
// in the log), $is_args is empty, $request_uri keeps the '?', the 301 that
// adds a proxying location's '/' does not carry it, and proxy_pass with a URI
// part drops it (without one the request URI passes as received).
func TestBareQuestionMark(t *testing.T) {
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format v 'ru=$request_uri|args=$args|qs=$query_string|is_args=$is_args';
    access_log %%DIR%%/v.log v buffer=0;
    server {
        listen 127.0.0.1:0;
        location = /ret { return 200 "text\n"; }
        location /sl/ { proxy_pass http://%[1]s; }
        location /px/ { proxy_pass http://%[1]s/u/; }
    }
}`, b.addr()), 1)
	client := newClient()
	tests := []struct {
		path      string
		wantCode  int
		wantLog   string
		wantFirst string // the backend's first line, or the Location of a redirect
	}{
		{"/ret?", 200, "ru=/ret?|args=-|qs=-|is_args=", ""},
		{"/ret", 200, "ru=/ret|args=-|qs=-|is_args=", ""},
		{"/ret?a=1", 200, "ru=/ret?a=1|args=a=1|qs=a=1|is_args=?", ""},
		{"/ret??", 200, "ru=/ret??|args=?|qs=?|is_args=?", ""},
		{"/sl?", 301, "ru=/sl?|args=-|qs=-|is_args=", in.url(0) + "/sl/"},
		{"/sl?k=v", 301, "ru=/sl?k=v|args=k=v|qs=k=v|is_args=?", in.url(0) + "/sl/?k=v"},
		{"/px/x?", 200, "ru=/px/x?|args=-|qs=-|is_args=", "b GET /u/x"},
		{"/sl/x?", 200, "ru=/sl/x?|args=-|qs=-|is_args=", "b GET /sl/x?"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, in.url(0)+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != tt.wantCode {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.wantCode)
		}
		got := firstLine(body)
		if resp.StatusCode == http.StatusMovedPermanently {
			got = resp.Header.Get("Location")
		}
		if tt.wantFirst != "" && got != tt.wantFirst {
			t.Errorf("GET %s: got %q, want %q", tt.path, got, tt.wantFirst)
		}
	}
	lines := waitLines(t, filepath.Join(in.dir, "v.log"), len(tests))
	for i, tt := range tests {
		if lines[i] != tt.wantLog {
			t.Errorf("GET %s: log %q, want %q", tt.path, lines[i], tt.wantLog)
		}
	}
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// capturesConf is TestRegexCaptures's configuration; nginx 1.22.1 gives the
// answers and log lines the test expects for it (with a real port and path).
const capturesConf = `
events {}
http {
    log_format m 'mapped=$mapped|mc=$mc|word=$word';
    access_log %DIR%/m.log m buffer=0;
    map $http_x_m $mapped {
        default d;
        exact   ex;
        ~^(?<mc>a+)b$ "got-$mc-$1";
        ~^(z+)(q)?$   "z-$1-$2";
        ~^nogroup$    ng;
    }
    map $http_x_m $exactfirst { default d; aab exact; ~^(?<mc>a+)b$ re; }
    map $1 $k { default d; ~^(a)(a+)$ "x$2"; }
    map $http_x_p $m1 { default d1; ~^(a+)b$ m1; }
    map $http_x_q $m2 { default d2; ~^(c+)$ m2; }
    server {
        listen 127.0.0.1:0;
        server_name ~^(?<sub>[a-z]+)\.(b)\.local$;
        location ~ ^/x/(?<word>[a-z]+)$ { return 200 "[$sub][$word][$1][$2]"; }
        location /y/ { return 200 "[$sub][$word][$1][$2]"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name m.local;
        location ~ ^/m/(?<word>[a-z]+)/(\d+)$ { return 200 "[$mapped][$1][$2][$mc][$word]"; }
        location ~ ^/e/(?<word>[a-z]+)/(\d+)$ { return 200 "[$exactfirst][$1][$2][$mc][$word]"; }
        location = /log { return 200 "ok"; }
        location ~ ^/k/(a+)$ { return 200 "[$k][$k][$1]"; }
        location = /two { return 200 "[$m1][$m2][$m1][$1]"; }
    }
}`

// TestRegexCaptures: every regex match is the request's last one, as in
// nginx 1.22.1: after a map regex matched, $1..$9 are the map's groups (none
// when it has none) and its named captures are variables, also in the access
// log, while the named captures of the server_name and location regexes keep
// their values. An exact key or the default leaves the captures alone. A map
// is evaluated once per request.
func TestRegexCaptures(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, capturesConf, 1)
	client := newClient()
	tests := []struct {
		name    string
		path    string
		headers []string
		want    string
		wantLog string
	}{
		{"server name and location named captures", "/x/abc", []string{"Host", "foo.b.local"},
			"[foo][abc][abc][]", "mapped=d|mc=-|word=abc"},
		{"server name captures without a regex location", "/y/abc", []string{"Host", "foo.b.local"},
			"[foo][][foo][b]", "mapped=d|mc=-|word=-"},
		{"map regex with a named capture", "/m/abc/42", []string{"Host", "m.local", "X-M", "aab"},
			"[got-aa-aa][aa][][aa][abc]", "mapped=got-aa-aa|mc=aa|word=abc"},
		{"map regex with numbered captures", "/m/abc/42", []string{"Host", "m.local", "X-M", "zzq"},
			"[z-zz-q][zz][q][][abc]", "mapped=z-zz-q|mc=-|word=abc"},
		{"map regex, unmatched group", "/m/abc/42", []string{"Host", "m.local", "X-M", "zzz"},
			"[z-zzz-][zzz][][][abc]", "mapped=z-zzz-|mc=-|word=abc"},
		{"map regex without groups", "/m/abc/42", []string{"Host", "m.local", "X-M", "nogroup"},
			"[ng][][][][abc]", "mapped=ng|mc=-|word=abc"},
		{"map exact key", "/m/abc/42", []string{"Host", "m.local", "X-M", "exact"},
			"[ex][abc][42][][abc]", "mapped=ex|mc=-|word=abc"},
		{"map default", "/m/abc/42", []string{"Host", "m.local", "X-M", "none"},
			"[d][abc][42][][abc]", "mapped=d|mc=-|word=abc"},
		{"exact key before regex", "/e/abc/42", []string{"Host", "m.local", "X-M", "aab"},
			"[exact][abc][42][][abc]", "mapped=got-aa-aa|mc=aa|word=abc"},
		// Only the log line evaluates $mapped, before $mc.
		{"map first used in the log", "/log", []string{"Host", "m.local", "X-M", "aab"},
			"ok", "mapped=got-aa-aa|mc=aa|word=-"},
		// A map is evaluated once per request: the second $k does not look
		// up the $1 its own regex set, the second $m1 leaves $1 to $m2.
		{"map evaluated once", "/k/aaa", []string{"Host", "m.local"},
			"[xaa][xaa][a]", "mapped=d|mc=-|word=-"},
		{"second map's captures stay", "/two", []string{"Host", "m.local", "X-P", "aab", "X-Q", "cc"},
			"[m1][m2][m1][cc]", "mapped=d|mc=-|word=-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+tt.path, tt.headers...)
			if code != 200 || body != tt.want {
				t.Errorf("got %d %q, want 200 %q", code, body, tt.want)
			}
		})
	}
	lines := waitLines(t, filepath.Join(in.dir, "m.log"), len(tests))
	for i, tt := range tests {
		if lines[i] != tt.wantLog {
			t.Errorf("%s: log line %q, want %q", tt.name, lines[i], tt.wantLog)
		}
	}
}

// TestProxyRedirectCaptures: a proxy_redirect regex may name its captures;
// the replacement uses them and, as in nginx 1.22.1, so can the log line.
func TestProxyRedirectCaptures(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://elsewhere/xyz")
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(back.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format rr 'rr=$rr|loc=$sent_http_location';
    access_log %%DIR%%/rr.log rr buffer=0;
    server {
        listen 127.0.0.1:0;
        location /px/ {
            proxy_pass http://%s;
            proxy_redirect ~^http://elsewhere/(?<rr>.*)$ http://front/got/$rr;
        }
    }
}`, strings.TrimPrefix(back.URL, "http://")), 1)
	resp, err := newClient().Get(in.url(0) + "/px/a")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	wantLoc := "http://front/got/xyz"
	if got := resp.Header.Get("Location"); got != wantLoc {
		t.Errorf("Location %q, want %q", got, wantLoc)
	}
	lines := waitLines(t, filepath.Join(in.dir, "rr.log"), 1)
	if want := "rr=xyz|loc=" + wantLoc; lines[0] != want {
		t.Errorf("log line %q, want %q", lines[0], want)
	}
}
