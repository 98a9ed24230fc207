package referer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
)

// checkers loads an http block and returns the compiled valid_referers of
// each location of its first server, by location path.
func checkers(t *testing.T, httpBody string) map[string]*Checker {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("http {\n"+httpBody+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Checker{}
	for _, srv := range cfg.HTTP.Servers {
		for _, l := range srv.Locations {
			if vr := l.Settings.ValidReferers; vr != nil {
				out[l.Path] = New(vr)
			}
		}
	}
	return out
}

// TestInvalid checks $invalid_referer against nginx 1.22.1's answers to
// the same configuration and Referer fields ("1" is invalid).
func TestInvalid(t *testing.T) {
	cs := checkers(t, `server {
    listen 127.0.0.1:1;
    location /r/ {
        valid_referers none blocked server_names *.ex.com www.ex.* ex.org/p ex.net:8080 ~\.re\.com ~^foo;
    }
    server_name a.com *.w.com ~^re\d\.com$;
    location /x { valid_referers ex.com; }
    location /re { valid_referers ~^re\d\.com$ ~foo\.com/$; }
    location /n { valid_referers server_names; }
    location /dot { valid_referers .dot.com; }
}`)
	none := "\x00" // no Referer field
	tests := []struct {
		loc, referer string
		invalid      bool
	}{
		{"/r/", none, false},
		{"/r/", "", false}, // blocked: shorter than http://i.ru
		{"/r/", "http://a.com", false},
		{"/r/", "http://A.COM/x", false},
		{"/r/", "https://a.com:443/", false},
		{"/r/", "HTTPS://a.com/", false},
		{"/r/", "http://b.com", true},
		{"/r/", "a.com", false},       // blocked
		{"/r/", "ftp://b.com", false}, // blocked
		{"/r/", "http://x", false},    // blocked: too short
		{"/r/", "http://x.ex.com/", false},
		{"/r/", "http://ex.com/", true}, // *.ex.com is not ex.com
		{"/r/", "http://a.b.ex.com/", false},
		{"/r/", "http://www.ex.co.uk/", false},
		{"/r/", "http://ex.org/", true},
		{"/r/", "http://ex.org/p", false},
		{"/r/", "http://ex.org/pq", false},
		{"/r/", "http://ex.org:99/p", false},
		{"/r/", "http://ex.net/", true},
		{"/r/", "http://ex.net:8080/", true}, // the host stops at ':'
		{"/r/", "http://z.re.com/", false},
		{"/r/", "http://foo.com/", false},
		{"/r/", "https://FOO.com/", false},
		{"/r/", "http://q.com/foo", true},
		{"/r/", "http://q.com/?http://z.re.com", false},
		{"/x", "http://ex.com", false},
		{"/x", none, true},
		{"/x", "hello", true},
		{"/x", "http://i.r", true},
		{"/x", "http://EX.com:1", false},
		{"/x", "http://ex.com.", true},
		{"/re", "https://re5.com/", true},
		{"/re", "https://re5.com", false},
		{"/re", "http://re5.com:80", true},
		{"/re", "https://foo.com/", false},
		{"/re", "http://foo.com/a", true},
		{"/n", "https://a.com/", false},
		{"/n", "https://x.w.com/", false},
		{"/n", "https://w.com/", true},
		{"/n", "https://re5.com/a", false}, // a server_name regex sees the host only
		{"/n", "http://RE5.com/zzzz", false},
		{"/n", "https://re5.com:80/", false},
		{"/n", "https://re5.com?x", true},
		{"/n", "https://re5.coma", true},
		{"/n", "https://zzz.com/", true},
		{"/dot", "http://dot.com/", false},
		{"/dot", "http://x.dot.com/", false},
		{"/dot", "http://xdot.com/", true},
		{"/dot", "http://.dot.com/", false}, // an empty first label is a subdomain to nginx
		{"/r/", "http://www.ex./", false},   // and an empty last one
		{"/r/", "http://www.ex/", true},
	}
	for _, tt := range tests {
		t.Run(tt.loc+" "+tt.referer, func(t *testing.T) {
			c := cs[tt.loc]
			if c == nil {
				t.Fatalf("no valid_referers in %s", tt.loc)
			}
			got := c.Invalid(tt.referer, tt.referer != none)
			if got != tt.invalid {
				t.Errorf("Invalid(%q) = %v, want %v (nginx 1.22.1)", tt.referer, got, tt.invalid)
			}
		})
	}
}

// TestLongHost checks nginx 1.22.1's limit: a host longer than 256 bytes
// is invalid even when a regex would accept it.
func TestLongHost(t *testing.T) {
	c := checkers(t, `server { listen 127.0.0.1:1; location / { valid_referers ~.; } }`)["/"]
	host := make([]byte, 256)
	for i := range host {
		host[i] = 'a'
	}
	if c.Invalid("http://"+string(host)+"/", true) {
		t.Error("a host of 256 bytes is refused")
	}
	if !c.Invalid("http://"+string(host)+"a/", true) {
		t.Error("a host of 257 bytes is accepted")
	}
}

// TestInvalidAllocs checks that a check allocates nothing.
func TestInvalidAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes regexp's pooled matchers allocate")
	}
	c := checkers(t, `server { listen 127.0.0.1:1; server_name ~^s\d$; location / { valid_referers server_names *.ex.com www.ex.* a.com/p ~bar; } }`)["/"]
	for _, ref := range []string{"http://A.com/p", "http://x.EX.com/", "http://www.ex.org/", "http://s1/", "http://q.org/bar", "http://no.org/"} {
		if n := testing.AllocsPerRun(100, func() { c.Invalid(ref, true) }); n != 0 {
			t.Errorf("Invalid(%q): %v allocations", ref, n)
		}
	}
}

// TestMatchLimit: a regex whose match hits the backtracking engine's
// bound ends the check with its error, and Invalid then reports the
// referer valid: nginx 1.22.1's ngx_regex_exec_array logs "[alert] ...
// pcre2_match() failed: -47 on ..." and the variable fails, so
// $invalid_referer is empty ("valid", recorded, where no other rule would
// accept the referer) and "if ($invalid_referer)" does not refuse it.
func TestMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	cs := checkers(t, `server { listen 127.0.0.1:1; server_name ~^(a|aa)+(?!y)$;
        location /re { valid_referers ~^(a|aa)+(?!x)$ ~^a; }
        location /sn { valid_referers server_names ~^a; } }`)
	for _, loc := range []string{"/re", "/sn"} {
		c := cs[loc]
		invalid, err := c.Check("http://"+long, true)
		if invalid || !errors.Is(err, pcre.ErrMatchLimit) {
			t.Errorf("%s: Check = %t, %v; want false and pcre.ErrMatchLimit", loc, invalid, err)
		}
		if c.Invalid("http://"+long, true) {
			t.Errorf("%s: Invalid = true, want false", loc)
		}
		if invalid, err := c.Check("http://aaaaaaaaaa", true); invalid || err != nil {
			t.Errorf("%s: a referer the regex settles: %t, %v", loc, invalid, err)
		}
		if invalid, err := c.Check("http://bbbbbbbbbbb", true); !invalid || err != nil {
			t.Errorf("%s: a referer no rule accepts: %t, %v", loc, invalid, err)
		}
	}
}
