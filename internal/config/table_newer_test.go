package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNewerDirectivesChecked checks the directives nginx added after 1.22:
// each is known, and what fulcrum does not do is an error or a warning that
// says so, unless its value asks for what fulcrum does anyway.
func TestNewerDirectivesChecked(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // the warnings, or the error alone
		err       bool
	}{
		{"http3 on", "http { server { http3 on; } }", []string{`fulcrum does not support the "http3" directive yet in /t.conf:1, ` + noteQUIC}, true},
		{"quic_bpf in main", "quic_bpf on;", []string{`fulcrum does not support the "quic_bpf" directive yet in /t.conf:1, ` + noteQUIC}, true},
		{"QUIC off is what fulcrum does", "quic_bpf off; http { http3 off; http3_hq off; quic_retry off; quic_gso off; }", nil, false},
		{"quic_host_key", "http { quic_host_key k; }", []string{`fulcrum does not support the "quic_host_key" directive yet in /t.conf:1, ` + noteQUIC}, true},
		{"add_header_inherit", "http { add_header_inherit on; add_trailer_inherit off; server { add_header_inherit merge; } }", nil, false},
		{"add_header_inherit value", "http { add_header_inherit all; }", []string{`invalid value "all" in /t.conf:1, use one of: on, off, merge`}, true},
		{"certificate caches ignored", "ssl_object_cache_inheritable on; http { ssl_certificate_cache max=10; proxy_ssl_certificate_cache off; }", []string{
			`"ssl_object_cache_inheritable" is ignored in /t.conf:1, ` + noteObjectCache,
			`"ssl_certificate_cache" is ignored in /t.conf:1, ` + noteObjectCache,
			`"proxy_ssl_certificate_cache" is ignored in /t.conf:1, ` + noteObjectCache,
		}, false},
		{"keepalive_min_timeout 0", "http { keepalive_min_timeout 0; }", nil, false},
		{"keepalive_min_timeout", "http { keepalive_min_timeout 5s; }", nil, false},
		{"keepalive_min_timeout value", "http { keepalive_min_timeout x; }", []string{`"keepalive_min_timeout" directive invalid value`}, true},
		{"implemented", "http { early_hints $http2 1; proxy_pass_trailers on; server { ssl_key_log k; } }", nil, false},
		{"early_hints twice", "http { early_hints 1; early_hints 2; }", []string{`"early_hints" directive is duplicate`}, true},
		{"ssl_key_log in location", "http { server { location / { ssl_key_log k; } } }", []string{`"ssl_key_log" directive is not allowed here`}, true},
		{"stream server_name", "stream { server { listen 1; server_name a; proxy_pass b:1; } }", []string{`fulcrum does not support the "server_name" directive yet`}, true},
		{"stream pass", "stream { server { listen 1; pass 127.0.0.1:443; } }", []string{`fulcrum does not support the "pass" directive yet`}, true},
		{"stream ssl_ocsp", "stream { ssl_ocsp on; }", []string{`fulcrum does not support the "ssl_ocsp" directive yet`}, true},
		{"stream ssl_stapling", "stream { ssl_stapling on; ssl_stapling_verify off; }", nil, false},
		{"stream ssl_reject_handshake off", "stream { ssl_reject_handshake off; }", nil, false},
		{"proxy_http_version 2", "http { proxy_http_version 2; }", []string{`fulcrum does not support "proxy_http_version 2" yet in /t.conf:1, fulcrum speaks HTTP/1.0 and 1.1`}, true},
		{"proxy_http_version 3", "http { proxy_http_version 3; }", []string{`invalid value "3" in /t.conf:1, use one of: 1.0, 1.1`}, true},
		{"ssl_ech_file", "http { ssl_ech_file e.pem; }", []string{`fulcrum does not support the "ssl_ech_file" directive yet`}, true},
		{"upstream key logs", "http { proxy_ssl_key_log a; grpc_ssl_key_log b; uwsgi_ssl_key_log c; }", nil, false},
		{"stream key logs", "stream { ssl_key_log a; proxy_ssl_key_log b; server { listen 1; ssl_key_log c; proxy_ssl_key_log d; proxy_pass x:1; } }", nil, false},
		{"stream ssl_key_log twice", "stream { ssl_key_log a; ssl_key_log b; }", []string{`"ssl_key_log" directive is duplicate`}, true},
		{"stream proxy_ssl_key_log without a path", "stream { proxy_ssl_key_log; }", []string{`invalid number of arguments in "proxy_ssl_key_log" directive`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidated(t, tt.src, tt.want, tt.err)
		})
	}
}

// TestNewerListenParams checks the listen parameters of nginx 1.25 and
// later: quic is refused with the reason, multipath ignored with a warning.
func TestNewerListenParams(t *testing.T) {
	_, err := loadText(t, "http { server { listen 443 quic; } }")
	if err == nil || !strings.Contains(err.Error(), `fulcrum does not support "listen ... quic" yet`) || !strings.Contains(err.Error(), noteQUIC) {
		t.Errorf("listen quic: %v", err)
	}
	cfg, err := loadText(t, "http { server { listen 127.0.0.1:8080 multipath; } }")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range cfg.Warnings {
		found = found || strings.Contains(w.String(), `"listen ... multipath" is ignored`)
	}
	if !found {
		t.Errorf("warnings %q, want listen ... multipath ignored", cfg.Warnings)
	}
}

// TestNewerSettings checks that early_hints, proxy_pass_trailers and
// ssl_key_log reach the settings, inherited the nginx way.
func TestNewerSettings(t *testing.T) {
	cfg := mustLoad(t, `http { early_hints $http2 $arg_h; proxy_pass_trailers on;
    server { listen 80; location / { } location /off { proxy_pass_trailers off; early_hints 0; } } }`)
	locs := cfg.HTTP.Servers[0].Locations
	if s := locs[0].Settings; strings.Join(s.EarlyHints, " ") != "$http2 $arg_h" || !s.ProxyPassTrailers {
		t.Errorf("inherited: early_hints %q, proxy_pass_trailers %v", s.EarlyHints, s.ProxyPassTrailers)
	}
	if s := locs[1].Settings; strings.Join(s.EarlyHints, " ") != "0" || s.ProxyPassTrailers {
		t.Errorf("own: early_hints %q, proxy_pass_trailers %v", s.EarlyHints, s.ProxyPassTrailers)
	}
}

// TestAddHeaderInherit checks add_header_inherit and add_trailer_inherit
// (nginx 1.29.3): "on" inherits the standard way, "off" keeps the level's
// own lines only, "merge" puts the previous level's list after the level's
// own; the rule itself is inherited.
func TestAddHeaderInherit(t *testing.T) {
	cfg := mustLoad(t, `http { add_header A a; add_header_inherit merge; add_trailer TA a; add_trailer_inherit off;
    server { listen 80; add_header B b; add_trailer TB b;
        location /1 { }
        location /2 { add_header C c; add_trailer_inherit merge; add_trailer TC c; }
        location /3 { add_header_inherit off; }
        location /4 { add_header_inherit on; }
        location /5 { add_header_inherit off; add_header D d; }
        location /6 { add_header_inherit on; location /6/n { add_header_inherit merge; add_header E e; } }
    } }`)
	names := func(hs []HeaderTemplate) string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Name)
		}
		return strings.Join(out, " ")
	}
	locs := cfg.HTTP.Servers[0].Locations
	tests := []struct {
		set              *Settings
		headers, trailer string
	}{
		{locs[0].Settings, "B A", ""},
		{locs[1].Settings, "C B A", "TC TB"},
		{locs[2].Settings, "", ""},
		{locs[3].Settings, "B A", ""},
		{locs[4].Settings, "D", ""},
		{locs[5].Locations[0].Settings, "E B A", ""},
	}
	for i, tt := range tests {
		if got := names(tt.set.AddHeaders); got != tt.headers {
			t.Errorf("location %d: add_header %q, want %q", i+1, got, tt.headers)
		}
		if got := names(tt.set.AddTrailers); got != tt.trailer {
			t.Errorf("location %d: add_trailer %q, want %q", i+1, got, tt.trailer)
		}
	}
}

// TestUpstreamKeyLogFiles checks that proxy_ssl_key_log, grpc_ssl_key_log
// and uwsgi_ssl_key_log resolve their path against the prefix, are
// inherited, and that the levels naming one path share one file, listed
// once in Config.UpstreamKeyLogs for the daemon to open.
func TestUpstreamKeyLogFiles(t *testing.T) {
	cfg, err := loadText(t, `http { proxy_ssl_key_log up.keys;
    server { listen 127.0.0.1:8080;
        location /a { proxy_pass https://127.0.0.1:1; }
        location /b { grpc_ssl_key_log up.keys; grpc_pass grpcs://127.0.0.1:1; }
        location /c { uwsgi_ssl_key_log /other.keys; uwsgi_pass suwsgi://127.0.0.1:1; }
        location /d { proxy_ssl_key_log /other.keys; proxy_pass https://127.0.0.1:1; } } }`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.UpstreamKeyLogs) != 2 {
		t.Fatalf("UpstreamKeyLogs %v, want two files", cfg.UpstreamKeyLogs)
	}
	up, other := cfg.UpstreamKeyLogs[0], cfg.UpstreamKeyLogs[1]
	if up.Path != filepath.Join(cfg.Prefix, "up.keys") || other.Path != "/other.keys" {
		t.Errorf("paths %q %q", up.Path, other.Path)
	}
	locs := cfg.HTTP.Servers[0].Locations
	byPath := map[string]*Location{}
	for _, l := range locs {
		byPath[l.Path] = l
	}
	for _, c := range []struct {
		loc  string
		got  *KeyLogFile
		want *KeyLogFile
	}{
		{"/a proxy", byPath["/a"].Settings.ProxySSL.KeyLog, up},
		{"/b grpc", byPath["/b"].Settings.GRPC.SSL.KeyLog, up},
		{"/c uwsgi", byPath["/c"].Settings.UWSGI.SSL.KeyLog, other},
		{"/d proxy", byPath["/d"].Settings.ProxySSL.KeyLog, other},
		{"/a grpc", byPath["/a"].Settings.GRPC.SSL.KeyLog, nil},
	} {
		if c.got != c.want {
			t.Errorf("%s: key log %v, want %v", c.loc, c.got, c.want)
		}
	}
	if _, err := up.Write([]byte("x\n")); err == nil {
		t.Error("Write before Attach succeeded")
	}
}
