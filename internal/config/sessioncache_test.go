package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSessionSettings: ssl_session_timeout and ssl_session_cache are
// inherited from http and stream as nginx merges them; the timeout
// defaults to 5m, and 0 is OpenSSL's own two hours (nginx 1.22.1 sent a
// ticket lifetime hint of 7200 s).
func TestSessionSettings(t *testing.T) {
	_, cert, key, _, _ := tlsFiles(t)
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	cfg := mustLoad(t, `http {
    `+pair+`
    ssl_session_timeout 2s;
    ssl_session_cache shared:SSL:1m;
    server { listen 443 ssl; }
    server { listen 444 ssl; ssl_session_timeout 10m; ssl_session_cache off; ssl_session_cache builtin:100 shared:B:32k; }
    server { listen 445 ssl; ssl_session_timeout 0; ssl_session_cache none; }
}
stream {
    `+pair+`
    server { listen 1443 ssl; proxy_pass 127.0.0.1:9; }
    server { listen 1444 ssl; proxy_pass 127.0.0.1:9; ssl_session_timeout 1s; ssl_session_cache builtin; }
}`)
	tests := []struct {
		name    string
		tls     *TLS
		timeout time.Duration
		cache   string
	}{
		{"http inherited", cfg.HTTP.Servers[0].TLS, 2 * time.Second, "shared:SSL:1048576"},
		{"http own", cfg.HTTP.Servers[1].TLS, 10 * time.Minute, "builtin:100 shared:B:32768"},
		{"http zero", cfg.HTTP.Servers[2].TLS, 2 * time.Hour, "none"},
		{"stream default", cfg.Stream.Servers[0].TLS, 5 * time.Minute, "none"},
		{"stream own", cfg.Stream.Servers[1].TLS, time.Second, "builtin:20480"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tls.SessionTimeout != tt.timeout || tt.tls.SessionCache.String() != tt.cache {
				t.Errorf("timeout %v cache %q, want %v %q", tt.tls.SessionTimeout, tt.tls.SessionCache, tt.timeout, tt.cache)
			}
		})
	}
}

// TestSessionCacheErrors: what nginx 1.22.1 -t said of each value.
func TestSessionCacheErrors(t *testing.T) {
	tests := []struct{ value, want string }{
		{"ssl_session_cache builtin:x;", `invalid session cache "builtin:x" in nginx.conf:3`},
		{"ssl_session_cache builtin:;", `invalid session cache "builtin:" in nginx.conf:3`},
		{"ssl_session_cache bogus;", `invalid session cache "bogus" in nginx.conf:3`},
		{"ssl_session_cache shared:SSL;", `invalid session cache "shared:SSL" in nginx.conf:3`},
		{"ssl_session_cache shared::1m;", `invalid session cache "shared::1m" in nginx.conf:3`},
		{"ssl_session_cache shared:SSL:1x;", `invalid session cache "shared:SSL:1x" in nginx.conf:3`},
		{"ssl_session_cache shared:SSL:10k;", `session cache "shared:SSL:10k" is too small in nginx.conf:3`},
		{"ssl_session_cache shared:A:1m extra;", `invalid session cache "extra" in nginx.conf:3`},
		{"ssl_session_cache shared:A:1m shared:A:2m;", `the size 2097152 of shared memory zone "A" conflicts with already declared size 1048576 in nginx.conf:3`},
		{"ssl_session_cache off none builtin;", `invalid number of arguments in "ssl_session_cache" directive in nginx.conf:3`},
		{"ssl_session_timeout abc;", `"ssl_session_timeout" directive invalid value in nginx.conf:3`},
		{"ssl_session_timeout 1s; ssl_session_timeout 2s;", `"ssl_session_timeout" directive is duplicate in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			_, err := loadText(t, "http {\n    server {\n        "+tt.value+"\n    }\n}\n")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
	// Across lines and blocks (nginx 1.22.1 -t).
	for _, tt := range []struct{ conf, want string }{
		{"http { ssl_session_cache shared:Z:1m; server { listen 80; ssl_session_cache shared:Z:2m; } }",
			`the size 2097152 of shared memory zone "Z" conflicts with already declared size 1048576 in nginx.conf:1`},
		{"http { ssl_session_cache shared:SSL:1m; } stream { ssl_session_cache shared:SSL:1m; }",
			`the shared memory zone "SSL" is already declared for a different use in nginx.conf:1`},
	} {
		_, err := loadText(t, tt.conf)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.conf, err, tt.want)
		}
	}
	// nginx takes these.
	for _, v := range []string{"off", "none", "builtin", "builtin:0", "shared:SSL:32k", "off none", "off off", "builtin:100 shared:A:1m", "shared:A:1m shared:B:1m"} {
		if _, err := loadText(t, "http { ssl_session_cache "+v+"; ssl_session_cache none; server { listen 80; ssl_session_cache "+v+"; } }"); err != nil {
			t.Errorf("ssl_session_cache %s: %v", v, err)
		}
	}
}

// TestSessionCacheWithoutTickets: with ssl_session_tickets off nginx
// resumes from a builtin or shared cache (1.22.1: "Reused" in TLS 1.2 and
// 1.3), and so does fulcrum (package sessioncache): no warning.
func TestSessionCacheWithoutTickets(t *testing.T) {
	_, cert, key, _, _ := tlsFiles(t)
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	for _, tt := range []struct {
		conf   string
		stores bool
	}{
		{"ssl_session_tickets off; ssl_session_cache shared:SSL:1m;", true},
		{"ssl_session_tickets off; ssl_session_cache builtin;", true},
		{"ssl_session_tickets off; ssl_session_cache none;", false},
		{"ssl_session_tickets off; ssl_session_cache shared:SSL:1m off;", false},
		{"ssl_session_cache shared:SSL:1m;", true},
	} {
		cfg := mustLoad(t, "http { server { listen 443 ssl; "+pair+" "+tt.conf+" } }")
		if w := warningsText(cfg); strings.Contains(w, "session") {
			t.Errorf("%s: warned: %s", tt.conf, w)
		}
		if got := cfg.HTTP.Servers[0].TLS.SessionCache.Stores(); got != tt.stores {
			t.Errorf("%s: Stores() %t, want %t", tt.conf, got, tt.stores)
		}
	}
}
