package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFastCGIErrors(t *testing.T) {
	tests := []struct{ name, loc, want string }{
		{"no port", "fastcgi_pass 127.0.0.1;", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"unknown name", "fastcgi_pass php;", `no port in upstream "php" in nginx.conf:1`},
		{"scheme", "fastcgi_pass http://127.0.0.1:9000;", `invalid host in upstream "http://127.0.0.1:9000" in nginx.conf:1`},
		{"bad flag", "fastcgi_param A b c; fastcgi_pass 127.0.0.1:9000;", `invalid parameter "c" in nginx.conf:1`},
		{"duplicate", "fastcgi_pass 127.0.0.1:9000; fastcgi_pass 127.0.0.1:9001;", `"fastcgi_pass" directive is duplicate in nginx.conf:1`},
		{"bad regex", `fastcgi_split_path_info "^(.+\.php(/.*)$"; fastcgi_pass 127.0.0.1:9000;`, `pcre2_compile() failed: missing closing parenthesis in "^(.+\.php(/.*)$"`},
		{"bad ignore", "fastcgi_ignore_headers X-Nope; fastcgi_pass 127.0.0.1:9000;", `invalid value "X-Nope" in nginx.conf:1`},
		{"bad next", "fastcgi_next_upstream error off; fastcgi_pass 127.0.0.1:9000;", `"fastcgi_next_upstream off" cannot be combined`},
		{"in server", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "events {} http { server { location / { " + tc.loc + " } } }"
			if tc.loc == "" {
				src = "events {} http { server { fastcgi_pass 127.0.0.1:9000; } }"
				tc.want = `"fastcgi_pass" directive is not allowed here in nginx.conf:1`
			}
			_, err := loadText(t, src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFastCGISettings(t *testing.T) {
	cfg := mustLoad(t, `events {} http {
		upstream php { server 127.0.0.1:9000; server 127.0.0.1:9001; keepalive 4; }
		fastcgi_param A a;
		fastcgi_read_timeout 5s;
		server {
			fastcgi_index index.php;
			location / { fastcgi_pass php; }
			location ~ \.php$ {
				fastcgi_param B $uri if_not_empty;
				fastcgi_split_path_info ^(.+\.php)(/.*)$;
				fastcgi_keep_conn on;
				fastcgi_next_upstream error http_503;
				fastcgi_pass unix:/run/php.sock;
			}
		}
	}`)
	locs := cfg.HTTP.Servers[0].Locations
	root, php := locs[0].Settings.FastCGI, locs[1].Settings.FastCGI
	if root.Pass == nil || root.Pass.Upstream.Name != "php" || len(root.Pass.Upstream.Servers) != 2 {
		t.Fatalf("root pass %+v", root.Pass)
	}
	if len(root.Params) != 1 || root.Params[0] != (FastCGIParam{Name: "A", Value: "a"}) {
		t.Errorf("root params %+v: want the http level's", root.Params)
	}
	if root.ReadTimeout != 5*time.Second || root.Index != "index.php" || root.KeepConn {
		t.Errorf("root %+v", root)
	}
	if len(php.Params) != 1 || php.Params[0] != (FastCGIParam{Name: "B", Value: "$uri", IfNotEmpty: true}) {
		t.Errorf("php params %+v: the level's own replace the inherited ones", php.Params)
	}
	if php.Pass == nil || php.Pass.Upstream.Servers[0].Network != "unix" || php.Split == nil || !php.KeepConn {
		t.Errorf("php %+v", php)
	}
	if php.NextUpstream != NextError|NextHTTP503 {
		t.Errorf("next upstream %v", php.NextUpstream)
	}
}

// TestFastCGIDebianSnippet loads Debian's snippets/fastcgi-php.conf, which
// includes fastcgi.conf, with no warning.
func TestFastCGIDebianSnippet(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"fastcgi.conf", "snippets/fastcgi-php.conf"} {
		b, err := os.ReadFile(filepath.Join("testdata/debian", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := `events {} http { server { root /var/www/html; location ~ \.php$ {
		include snippets/fastcgi-php.conf;
		fastcgi_pass unix:/run/php/php-fpm.sock;
	} } }`
	path := filepath.Join(dir, "nginx.conf")
	os.WriteFile(path, []byte(src), 0o644)
	cfg, err := Load(path, LoadOptions{Prefix: dir, Resolver: testResolver(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", warningMessages(cfg.Warnings))
	}
	set := cfg.HTTP.Servers[0].Locations[0].Settings
	if set.FastCGI.Pass == nil || len(set.FastCGI.Params) < 15 || set.FastCGI.Index != "index.php" || set.FastCGI.Split == nil {
		t.Errorf("fastcgi %+v", set.FastCGI)
	}
}

func TestSCGISettings(t *testing.T) {
	for _, tc := range []struct{ loc, want string }{
		{"scgi_pass 127.0.0.1;", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"scgi_param A b c; scgi_pass 127.0.0.1:4000;", `invalid parameter "c" in nginx.conf:1`},
		{"scgi_index x; scgi_pass 127.0.0.1:4000;", `unknown directive "scgi_index" in nginx.conf:1`},
	} {
		_, err := loadText(t, "events {} http { server { location / { "+tc.loc+" } } }")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.loc, err, tc.want)
		}
	}
	cfg := mustLoad(t, `events {} http { scgi_param SCGI 1; scgi_read_timeout 3s; server {
		location /a { scgi_pass unix:/run/app.sock; }
		location /b { fastcgi_pass 127.0.0.1:9000; scgi_pass 127.0.0.1:4000; }
	} }`)
	a, b := cfg.HTTP.Servers[0].Locations[0].Settings, cfg.HTTP.Servers[0].Locations[1].Settings
	if a.SCGI.Pass == nil || a.FastCGI.Pass != nil || len(a.SCGI.Params) != 1 || a.SCGI.ReadTimeout != 3*time.Second || a.FastCGI.ReadTimeout != time.Minute {
		t.Errorf("a: scgi %+v fastcgi %+v", a.SCGI, a.FastCGI)
	}
	if b.SCGI.Pass == nil || b.FastCGI.Pass == nil {
		t.Errorf("b: both passes are kept (the daemon picks the last): %+v %+v", b.SCGI.Pass, b.FastCGI.Pass)
	}
}

func TestUWSGISettings(t *testing.T) {
	for _, tc := range []struct{ loc, want string }{
		{"uwsgi_pass http://127.0.0.1:3031;", `invalid host in upstream "http://127.0.0.1:3031"`},
		{"uwsgi_pass 127.0.0.1;", `no port in upstream "127.0.0.1"`},
		{"uwsgi_modifier1 x; uwsgi_pass 127.0.0.1:3031;", `"uwsgi_modifier1" directive invalid number`},
	} {
		_, err := loadText(t, "events {} http { server { location / { "+tc.loc+" } } }")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.loc, err, tc.want)
		}
	}
	cfg := mustLoad(t, `events {} http { uwsgi_modifier1 5; server {
		location / { uwsgi_param A b; uwsgi_pass uwsgi://127.0.0.1:3031; }
	} }`)
	u := cfg.HTTP.Servers[0].Locations[0].Settings.UWSGI
	if u.Pass == nil || u.Pass.Address != "127.0.0.1:3031" || u.Modifier1 != 5 || len(u.Params) != 1 {
		t.Errorf("uwsgi %+v pass %+v", u, u.Pass)
	}
}

// TestCGIPassVariables: fastcgi_pass, scgi_pass and uwsgi_pass with
// variables load as nginx's do, kept as written for the request to
// evaluate (uwsgi_pass's uwsgi:// included, as nginx strips it from the
// value); memcached_pass still reads "$x" as a host name.
func TestCGIPassVariables(t *testing.T) {
	cfg := mustLoad(t, `events {} http { upstream php { server 127.0.0.1:9000; } server {
		location /f { set $b php; fastcgi_pass $b; }
		location /s { scgi_pass $arg_b:4000; }
		location /u { uwsgi_pass uwsgi://$arg_b; }
	} }`)
	locs := cfg.HTTP.Servers[0].Locations
	for i, tc := range []struct {
		pass *FastCGIPass
		want string
	}{
		{locs[0].Settings.FastCGI.Pass, "$b"},
		{locs[1].Settings.SCGI.Pass, "$arg_b:4000"},
		{locs[2].Settings.UWSGI.Pass, "uwsgi://$arg_b"},
	} {
		if p := tc.pass; p == nil || !p.HasVariables || p.Address != tc.want || p.Upstream != nil {
			t.Errorf("location %d: pass %+v, want %q with variables and no upstream", i, p, tc.want)
		}
	}
	for _, tc := range []struct{ loc, want string }{
		{"memcached_pass $b;", `no port in upstream "$b"`},
	} {
		_, err := loadText(t, "events {} http { server { location / { "+tc.loc+" } } }")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.loc, err, tc.want)
		}
	}
}

// TestFastCGISplitPathInfoLevels: fastcgi_split_path_info is accepted in
// http and server as nginx 1.22 accepts it (its module registers main,
// server and location), and a location inherits the nearest level's.
func TestFastCGISplitPathInfoLevels(t *testing.T) {
	cfg := mustLoad(t, `events {} http {
		fastcgi_split_path_info ^(.+\.cgi)(/.*)$;
		server { location / { } }
		server {
			fastcgi_split_path_info ^(.+\.php)(/.*)$;
			location / { }
			location /own/ { fastcgi_split_path_info ^(.+\.py)(/.*)$; }
		}
	}`)
	for _, c := range []struct {
		srv, loc int
		want     string
	}{{0, 0, `^(.+\.cgi)(/.*)$`}, {1, 0, `^(.+\.php)(/.*)$`}, {1, 1, `^(.+\.py)(/.*)$`}} {
		split := cfg.HTTP.Servers[c.srv].Locations[c.loc].Settings.FastCGI.Split
		if split == nil || split.String() != c.want {
			t.Errorf("server %d location %d: split %v, want %s", c.srv, c.loc, split, c.want)
		}
	}
}
