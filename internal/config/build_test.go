package config

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mapResolver answers from a fixed table; tests use it so that they need no DNS.
// It fails the test when asked about localhost or an IP address, which must never
// reach a resolver.
type mapResolver struct {
	t     *testing.T
	hosts map[string][]string
}

func (r mapResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if host == "localhost" || strings.Trim(host, "0123456789.:[]abcdef") == "" {
		r.t.Errorf("resolver asked about %q", host)
	}
	if addrs, ok := r.hosts[host]; ok {
		return addrs, nil
	}
	return nil, errors.New("no such host")
}

func testResolver(t *testing.T) Resolver {
	return mapResolver{t: t, hosts: map[string][]string{
		"backend.test": {"10.0.0.1", "10.0.0.2", "10.0.0.1"},
		"v6.test":      {"2001:db8::1"},
		"dual.test":    {"2001:db8::2", "10.0.0.9"},
	}}
}

const testPrefix = "/srv/fulcrum"

// loadText writes src as nginx.conf in a temporary directory and loads it with the
// test resolver and prefix /srv/fulcrum.
func loadText(t *testing.T, src string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, LoadOptions{Prefix: testPrefix, Resolver: testResolver(t)})
	if err != nil {
		if e, ok := AsError(err); ok {
			e.Pos.File = filepath.Base(e.Pos.File)
		}
	}
	return cfg, err
}

// loadNested loads src, whose first server's first location holds a nested
// one, and returns both locations' settings. With wantErr set it checks that
// loading fails with an error starting so and returns nils.
func loadNested(t *testing.T, src, wantErr string) (outer, inner *Settings) {
	t.Helper()
	cfg, err := loadText(t, src)
	if wantErr != "" {
		if err == nil || !strings.HasPrefix(err.Error(), wantErr) {
			t.Fatalf("error %v, want %q", err, wantErr)
		}
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.HTTP.Servers[0].Locations[0]
	return loc.Settings, loc.Locations[0].Settings
}

func mustLoad(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := loadText(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMainContext(t *testing.T) {
	tests := []struct {
		name, src string
		want      Main
	}{
		{"defaults", "", Main{WorkerConnections: 1024, PIDFile: testPrefix + "/logs/fulcrum.pid",
			ErrorLogs: []ErrorLog{{Path: testPrefix + "/logs/error.log", Level: LevelError}}}},
		{"set", "worker_processes 4; pid /run/f.pid; worker_shutdown_timeout 30s; events { worker_connections 768; }\n" +
			"error_log logs/a.log warn; error_log stderr;",
			Main{WorkerProcesses: 4, WorkerConnections: 768, PIDFile: "/run/f.pid", WorkerShutdownTimeout: 30 * time.Second,
				ErrorLogs: []ErrorLog{{Path: testPrefix + "/logs/a.log", Level: LevelWarn}, {Path: "stderr", Level: LevelError}}}},
		{"auto", "worker_processes auto; error_log /var/log/e.log debug debug_http;",
			Main{WorkerConnections: 1024, PIDFile: testPrefix + "/logs/fulcrum.pid",
				ErrorLogs: []ErrorLog{{Path: "/var/log/e.log", Level: LevelDebug}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.src)
			for i := range cfg.Main.ErrorLogs {
				cfg.Main.ErrorLogs[i].Pos = Pos{}
			}
			if !reflect.DeepEqual(cfg.Main, tt.want) {
				t.Errorf("got  %+v\nwant %+v", cfg.Main, tt.want)
			}
			if cfg.HTTP != nil {
				t.Errorf("HTTP = %+v, want nil without an http block", cfg.HTTP)
			}
		})
	}
}

func TestLoadOptions(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf", "nginx.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("http { server { root www; } }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("prefix defaults to the main file's directory", func(t *testing.T) {
		cfg, err := Load(conf, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.HTTP.Servers[0].Settings.Root, filepath.Join(dir, "conf", "www"); got != want {
			t.Errorf("root %q, want %q", got, want)
		}
	})
	t.Run("relative path against the prefix, -e, -g", func(t *testing.T) {
		cfg, err := Load("conf/nginx.conf", LoadOptions{Prefix: dir, ErrorLog: "logs/e.log", Globals: "pid p.pid; worker_processes 3;"})
		if err != nil {
			t.Fatal(err)
		}
		m := cfg.Main
		if m.PIDFile != filepath.Join(dir, "p.pid") || m.WorkerProcesses != 3 {
			t.Errorf("main %+v", m)
		}
		if len(m.ErrorLogs) != 1 || m.ErrorLogs[0].Path != filepath.Join(dir, "logs/e.log") {
			t.Errorf("error logs %+v, want -e's", m.ErrorLogs)
		}
		if got := cfg.HTTP.Servers[0].Settings.ErrorLogs; !reflect.DeepEqual(got, m.ErrorLogs) {
			t.Errorf("server error logs %+v, want main's", got)
		}
		if len(cfg.Files) != 1 || cfg.Files[0].Path != conf {
			t.Errorf("files %+v", cfg.Files)
		}
	})
	t.Run("-e stderr", func(t *testing.T) {
		cfg, err := Load(conf, LoadOptions{ErrorLog: "stderr"})
		if err != nil {
			t.Fatal(err)
		}
		if p := cfg.Main.ErrorLogs[0].Path; p != "stderr" {
			t.Errorf("error log %q", p)
		}
	})
	globals := []struct{ src, want string }{
		{"bogus 1;", `unknown directive "bogus" in command line`},
		{"pid a", `unexpected end of file, expecting ";" or "}" in command line`},
		{"worker_processes many;", `"worker_processes" directive invalid value in command line`},
		// nginx 1.22.1 recorded for these two: a block is refused as such,
		// and a directive also in the file is the file's duplicate.
		{"http {}", `block directives are not supported in -g option in command line`},
		{"events {}", `block directives are not supported in -g option in command line`},
	}
	for _, g := range globals {
		t.Run("-g "+g.src, func(t *testing.T) {
			_, err := Load(conf, LoadOptions{Globals: g.src})
			if err == nil || !strings.HasPrefix(err.Error(), g.want) {
				t.Errorf("got %v, want %q", err, g.want)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	cfg := mustLoad(t, "http { server { location / { } } }")
	srv := cfg.HTTP.Servers[0]
	s := srv.Settings
	combined := cfg.HTTP.LogFormats["combined"]
	want := &Settings{
		ResolverTimeout:           30 * time.Second,
		Root:                      testPrefix + "/html",
		Index:                     []string{"index.html"},
		DefaultType:               "text/plain",
		Types:                     map[string]string{"html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"},
		ProxyPassRequestHeaders:   true,
		ProxyPassRequestBody:      true,
		ProxyHTTPVersion:          "1.1",
		ProxyRedirects:            []ProxyRedirect{{Default: true}},
		ProxyBuffering:            true,
		ProxyRequestBuffering:     true,
		ProxyConnectTimeout:       time.Minute,
		ProxyReadTimeout:          time.Minute,
		ProxyBufferSize:           4096,
		ProxySendTimeout:          time.Minute,
		ProxyNextUpstream:         NextError | NextTimeout,
		ClientMaxBodySize:         1 << 20,
		ClientHeaderTimeout:       time.Minute,
		ClientBodyTimeout:         time.Minute,
		SendTimeout:               time.Minute,
		KeepaliveTimeout:          75 * time.Second,
		KeepaliveRequests:         1000,
		KeepaliveTime:             time.Hour,
		LargeClientHeaderBuffers:  BufferSpec{Number: 4, Size: 8192},
		ClientHeaderBufferSize:    1024,
		HTTP2Settings:             HTTP2Settings{MaxConcurrentStreams: 128, ChunkSize: 8 << 10, BodyPrereadSize: 64 << 10, RecvBufferSize: 256 << 10},
		IgnoreInvalidHeaders:      true,
		MergeSlashes:              true,
		RealIPHeader:              "X-Real-IP",
		LimitConnStatus:           503,
		LimitConnLogLevel:         LevelError,
		LimitReqStatus:            503,
		LimitReqLogLevel:          LevelError,
		UninitializedVariableWarn: true,
		MirrorRequestBody:         true,
		DAVAccess:                 0o600,
		ProxyStoreAccess:          0o600,
		ProxySSL:                  ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true},
		GRPC: GRPCSettings{ConnectTimeout: time.Minute, ReadTimeout: time.Minute, SendTimeout: time.Minute, NextUpstream: NextError | NextTimeout,
			BufferSize: 4096, SSL: ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}},
		FastCGI: FastCGI{ConnectTimeout: time.Minute, SendTimeout: time.Minute, ReadTimeout: time.Minute, BufferSize: 4096,
			NextUpstream: NextError | NextTimeout, PassRequestHeaders: true, PassRequestBody: true, RequestBuffering: true, Buffering: true, StoreAccess: 0o600},
		SCGI: FastCGI{ConnectTimeout: time.Minute, SendTimeout: time.Minute, ReadTimeout: time.Minute, BufferSize: 4096,
			NextUpstream: NextError | NextTimeout, PassRequestHeaders: true, PassRequestBody: true, RequestBuffering: true, Buffering: true, StoreAccess: 0o600},
		UWSGI: FastCGI{ConnectTimeout: time.Minute, SendTimeout: time.Minute, ReadTimeout: time.Minute, BufferSize: 4096,
			NextUpstream: NextError | NextTimeout, PassRequestHeaders: true, PassRequestBody: true, RequestBuffering: true, Buffering: true, StoreAccess: 0o600,
			SSL: ProxySSL{VerifyDepth: 1, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}},
		Memcached: Memcached{BufferSize: 4096, ConnectTimeout: time.Minute, SendTimeout: time.Minute, ReadTimeout: time.Minute,
			NextUpstream: NextError | NextTimeout},
		Gzip:                       Gzip{Level: 1, MinLength: 20, Proxied: GzipProxiedOff, Buffers: BufferSpec{Number: 32, Size: 4096}, GunzipBuffers: BufferSpec{Number: 32, Size: 4096}},
		Charset:                    Charset{Types: defaultCharsetTypes},
		ProxyCache:                 defaultCacheSettings(),
		SubFilter:                  SubFilter{Once: true},
		SSI:                        SSI{ValueLength: 255, MinFileChunk: 1024},
		MP4:                        MP4{BufferSize: 512 << 10, MaxBufferSize: 10 << 20},
		ImageFilter:                ImageFilter{JPEGQuality: "75", Sharpen: "0", WebPQuality: "80", Transparency: true, Buffer: 1 << 20},
		SubrequestOutputBufferSize: 4 << 10,
		ClientBodyBufferSize:       2 * int64(os.Getpagesize()), // 8k on x86-64, as nginx's
		ClientBodyTempPath:         TempPath{Path: testPrefix + "/client_body_temp"},
		Userid:                     Userid{Name: "uid", Path: "; path=/"},
		Browser:                    Browser{ModernValue: "1", AncientValue: "1"},
		AbsoluteRedirect:           true,
		AutoindexExactSize:         true,
		AutoindexFormat:            "html",
		PortInRedirect:             true,
		ServerTokens:               true,
		AccessLogs:                 []AccessLog{{Path: testPrefix + "/logs/access.log", Format: combined}},
		ErrorLogs:                  cfg.Main.ErrorLogs,
		CoreFlags:                  CoreFlags{Closing: Closing{LingeringTime: 30 * time.Second, LingeringTimeout: 5 * time.Second}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("server settings differ:\n%s", diffLines(settingsLines(s), settingsLines(want)))
	}
	if loc := srv.Locations[0].Settings; !reflect.DeepEqual(loc, want) {
		t.Errorf("location settings differ:\n%s", diffLines(settingsLines(loc), settingsLines(want)))
	}
	if combined.Template != combinedTemplate || combined.Escape != "default" {
		t.Errorf("combined = %+v", combined)
	}
	if got := srv.Listens; len(got) != 1 || got[0].Addr != "0.0.0.0:80" || got[0].Network != "tcp" {
		t.Errorf("default listen %+v", got)
	}
	if got := srv.Names; len(got) != 1 || got[0].Name != "" || got[0].Kind != NameExact {
		t.Errorf("default server_name %+v", got)
	}
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			b.WriteString("got  " + got[i] + "\n")
			if i < len(want) {
				b.WriteString("want " + want[i] + "\n")
			}
		}
	}
	return b.String()
}

// TestInheritance checks nginx's rules through the levels: scalars from the nearest
// level, arrays as a whole from the nearest level that has any, proxy_pass and a
// location's return not inherited, a server's return everywhere.
func TestInheritance(t *testing.T) {
	cfg := mustLoad(t, `
http {
    proxy_read_timeout 10s;
    proxy_set_header A a;
    proxy_set_header B b;
    add_header X-Http 1;
    root /www;
    access_log off;
    proxy_intercept_errors on;
    merge_slashes off;
    server {
        proxy_read_timeout 20s;
        proxy_ignore_client_abort on;
        location /one/ {
            proxy_intercept_errors off;
            proxy_ignore_client_abort off;
            proxy_pass http://127.0.0.1:8001;
            proxy_set_header C c;
            return 200 one;
            location /one/two/ {
                proxy_read_timeout 30s;
                proxy_intercept_errors on;
                alias /data/;
                location /one/two/three/ { }
            }
        }
        location /root/ { root relative; }
    }
    server {
        merge_slashes on;
        return 301 https://example.org;
        location / { return 404; }
    }
}`)
	s1 := cfg.HTTP.Servers[0]
	one := s1.Locations[0]
	two := one.Locations[0]
	three := two.Locations[0]
	root := s1.Locations[1]
	names := func(hs []HeaderTemplate) string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Name+"="+h.Value)
		}
		return strings.Join(out, ",")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"server read timeout", s1.Settings.ProxyReadTimeout, 20 * time.Second},
		{"location inherits server", one.Settings.ProxyReadTimeout, 20 * time.Second},
		{"nested sets its own", two.Settings.ProxyReadTimeout, 30 * time.Second},
		{"deeper inherits nested", three.Settings.ProxyReadTimeout, 30 * time.Second},
		{"server headers from http", names(s1.Settings.ProxySetHeaders), "A=a,B=b"},
		{"one header drops the inherited ones", names(one.Settings.ProxySetHeaders), "C=c"},
		{"nested inherits the location's array", names(two.Settings.ProxySetHeaders), "C=c"},
		{"add_header from http", names(three.Settings.AddHeaders), "X-Http=1"},
		{"access_log off inherited", three.Settings.AccessLogs[0].Off, true},
		{"proxy_pass on its location", one.Settings.ProxyPass != nil, true},
		{"proxy_pass not inherited", two.Settings.ProxyPass == nil, true},
		{"return on its location", one.Settings.Rewrites[0].Return.Code, 200},
		{"location script not inherited", two.Settings.Rewrites == nil, true},
		{"alias", two.Settings.Alias, "/data/"},
		{"alias inherited by nested", three.Settings.Alias, "/data/"},
		{"root from http", two.Settings.Root, "/www"},
		{"proxy_intercept_errors from http", root.Settings.ProxyInterceptErrors, true},
		{"proxy_intercept_errors off in a location", one.Settings.ProxyInterceptErrors, false},
		{"proxy_intercept_errors on again, nested", three.Settings.ProxyInterceptErrors, true},
		{"proxy_intercept_errors in another server", cfg.HTTP.Servers[1].Locations[0].Settings.ProxyInterceptErrors, true},
		{"merge_slashes off from http", s1.Settings.MergeSlashes, false},
		{"merge_slashes on in a server", cfg.HTTP.Servers[1].Settings.MergeSlashes, true},
		{"proxy_ignore_client_abort on in a server", root.Settings.ProxyIgnoreClientAbort, true},
		{"proxy_ignore_client_abort off in a location", one.Settings.ProxyIgnoreClientAbort, false},
		{"proxy_ignore_client_abort off inherited, nested", three.Settings.ProxyIgnoreClientAbort, false},
		{"proxy_ignore_client_abort default off", cfg.HTTP.Servers[1].Locations[0].Settings.ProxyIgnoreClientAbort, false},
		{"relative root against prefix", root.Settings.Root, testPrefix + "/relative"},
		{"no alias elsewhere", root.Settings.Alias, ""},
		{"server return", cfg.HTTP.Servers[1].Settings.Rewrites[0].Return.Code, 301},
		{"server script not in locations", cfg.HTTP.Servers[1].Locations[0].Settings.Rewrites[0].Return.Code, 404},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestServerLevelSettings(t *testing.T) {
	cfg := mustLoad(t, `http { underscores_in_headers on; server {
		large_client_header_buffers 8 16k; client_header_timeout 5s; ignore_invalid_headers off;
		location / { } } }`)
	for _, s := range []*Settings{cfg.HTTP.Servers[0].Settings, cfg.HTTP.Servers[0].Locations[0].Settings} {
		got := []any{s.LargeClientHeaderBuffers, s.ClientHeaderTimeout, s.IgnoreInvalidHeaders, s.UnderscoresInHeaders}
		want := []any{BufferSpec{8, 16 << 10}, 5 * time.Second, false, true}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

func TestSettingsValues(t *testing.T) {
	tests := []struct {
		name, dirs string
		check      func(s *Settings) any
		want       any
	}{
		{"return code", "return 404;", func(s *Settings) any { return *s.Rewrites[0].Return }, Return{Code: 404}},
		{"return text", `return 200 "ok\n";`, func(s *Settings) any { return s.Rewrites[0].Return.Text }, "ok\n"},
		{"return url", "return https://x/;", func(s *Settings) any { return [2]any{s.Rewrites[0].Return.Code, s.Rewrites[0].Return.Text} }, [2]any{302, "https://x/"}},
		{"return $scheme url", "return $scheme://x$request_uri;", func(s *Settings) any { return s.Rewrites[0].Return.Code }, 302},
		{"every return is a step", "return 201; return 202;", func(s *Settings) any { return len(s.Rewrites) }, 2},
		{"keepalive_timeout with header", "keepalive_timeout 65 60;", func(s *Settings) any {
			return [2]time.Duration{s.KeepaliveTimeout, s.KeepaliveHeaderTimeout}
		}, [2]time.Duration{65 * time.Second, 60 * time.Second}},
		{"body size 0", "client_max_body_size 0;", func(s *Settings) any { return s.ClientMaxBodySize }, int64(0)},
		{"body size g", "client_max_body_size 2G;", func(s *Settings) any { return s.ClientMaxBodySize }, int64(2 << 30)},
		{"next upstream", "proxy_next_upstream error http_502; proxy_next_upstream non_idempotent;", func(s *Settings) any { return s.ProxyNextUpstream }, NextError | NextHTTP502 | NextNonIdempotent},
		{"next upstream off", "proxy_next_upstream off;", func(s *Settings) any { return s.ProxyNextUpstream }, NextOff},
		{"tries and timeout", "proxy_next_upstream_tries 3; proxy_next_upstream_timeout 5s;", func(s *Settings) any {
			return [2]any{s.ProxyNextUpstreamTries, s.ProxyNextUpstreamTimeout}
		}, [2]any{3, 5 * time.Second}},
		{"http 1.0", "proxy_http_version 1.0;", func(s *Settings) any { return s.ProxyHTTPVersion }, "1.0"},
		{"hide and pass", "proxy_hide_header X-A; proxy_hide_header X-B; proxy_pass_header Server;", func(s *Settings) any {
			return [2][]string{s.ProxyHideHeaders, s.ProxyPassHeaders}
		}, [2][]string{{"X-A", "X-B"}, {"Server"}}},
		{"request rewriting", `proxy_method POST; proxy_set_body "x=$arg_x"; proxy_pass_request_body off; proxy_pass_request_headers off;`, func(s *Settings) any {
			return [4]any{s.ProxyMethod, *s.ProxySetBody, s.ProxyPassRequestBody, s.ProxyPassRequestHeaders}
		}, [4]any{"POST", "x=$arg_x", false, false}},
		{"intercept errors", "proxy_intercept_errors on;", func(s *Settings) any { return s.ProxyInterceptErrors }, true},
		{"buffering", "proxy_buffering off; proxy_request_buffering off;", func(s *Settings) any {
			return [2]bool{s.ProxyBuffering, s.ProxyRequestBuffering}
		}, [2]bool{false, false}},
		{"cgi request buffering", "fastcgi_request_buffering off; scgi_request_buffering off; uwsgi_request_buffering on;", func(s *Settings) any {
			return [3]bool{s.FastCGI.RequestBuffering, s.SCGI.RequestBuffering, s.UWSGI.RequestBuffering}
		}, [3]bool{false, false, true}},
		{"redirect off", "proxy_redirect off;", func(s *Settings) any { return s.ProxyRedirects[0].Off }, true},
		{"redirect pair", "proxy_redirect http://a/ /;", func(s *Settings) any {
			r := s.ProxyRedirects[0]
			return [2]string{r.From, r.To}
		}, [2]string{"http://a/", "/"}},
		{"redirect regex", "proxy_redirect ~*^http://(\\w+)/ /$1/;", func(s *Settings) any {
			r := s.ProxyRedirects[0]
			return [2]any{r.Regex.MatchString("HTTP://abc/"), r.From}
		}, [2]any{true, `^http://(\w+)/`}},
		{"redirect default after proxy_pass", "proxy_pass http://127.0.0.1:81/x/; proxy_redirect default; proxy_redirect /a /b;", func(s *Settings) any {
			return len(s.ProxyRedirects)
		}, 2},
		{"add_header always", "add_header X 1 always; add_header Y 2;", func(s *Settings) any {
			return [2]bool{s.AddHeaders[0].Always, s.AddHeaders[1].Always}
		}, [2]bool{true, false}},
		{"error pages", "error_page 404 /404.html; error_page 500 502 =200 @fallback; error_page 403 = /x; error_page 301 http://a/;", func(s *Settings) any {
			var out []string
			for _, p := range s.ErrorPages {
				out = append(out, strings.Trim(strings.Join(strings.Fields(strings.Trim(fmtStruct(reflect.ValueOf(p)), "{}")), " "), " "))
			}
			return strings.Join(out, "|")
		}, `Codes=[404] Target="/404.html"|Codes=[500, 502] Response=200 Target="@fallback"|Codes=[403] UseTargetStatus=true Target="/x"|Codes=[301] Target="http://a/"`},
		// nginx 1.22.1 takes "=0" as "=" (recorded: "=0 /x" answers /x's own 202)
		{"error page =0", "error_page 404 =0 /x;", func(s *Settings) any { return s.ErrorPages[0].UseTargetStatus }, true},
		{"index joins", "index a.html; index b.html /c.html;", func(s *Settings) any { return s.Index }, []string{"a.html", "b.html", "/c.html"}},
		{"try_files", "try_files $uri $uri/ =404;", func(s *Settings) any { return s.TryFiles }, []string{"$uri", "$uri/", "=404"}},
		{"real ip", "set_real_ip_from 10.0.0.0/8; set_real_ip_from 192.168.1.1; set_real_ip_from unix:; real_ip_header X-Forwarded-For; real_ip_recursive on;", func(s *Settings) any {
			return [3]any{s.SetRealIPFrom, s.RealIPHeader, s.RealIPRecursive}
		}, [3]any{[]string{"10.0.0.0/8", "192.168.1.1", "unix:"}, "X-Forwarded-For", true}},
		// A host name is resolved at load, as nginx's realip module does.
		{"real ip name", "set_real_ip_from backend.test; set_real_ip_from 192.0.2.0/24;", func(s *Settings) any { return s.SetRealIPFrom }, []string{"10.0.0.1", "10.0.0.2", "192.0.2.0/24"}},
		{"server_tokens off", "server_tokens off;", func(s *Settings) any { return s.ServerTokens }, false},
		{"server_tokens build", "server_tokens build;", func(s *Settings) any { return s.ServerTokens }, true},
		{"flags", "absolute_redirect off; default_type application/json;", func(s *Settings) any {
			return [2]any{s.AbsoluteRedirect, s.DefaultType}
		}, [2]any{false, "application/json"}},
		{"redirect flags", "port_in_redirect off; server_name_in_redirect on;", func(s *Settings) any {
			return [2]any{s.PortInRedirect, s.ServerNameInRedirect}
		}, [2]any{false, true}},
		{"timeouts", "client_body_timeout 5s; send_timeout 1m30s; keepalive_requests 7; keepalive_time 10m; proxy_connect_timeout 500ms; proxy_send_timeout 2s;", func(s *Settings) any {
			return []any{s.ClientBodyTimeout, s.SendTimeout, s.KeepaliveRequests, s.KeepaliveTime, s.ProxyConnectTimeout, s.ProxySendTimeout}
		}, []any{5 * time.Second, 90 * time.Second, 7, 10 * time.Minute, 500 * time.Millisecond, 2 * time.Second}},
		{"access logs", "access_log /var/log/a.log; access_log logs/b.log combined buffer=64k flush=5s if=$loggable; access_log stdout;", func(s *Settings) any {
			var out []string
			for _, l := range s.AccessLogs {
				out = append(out, fmtStruct(reflect.ValueOf(l)))
			}
			return strings.Join(out, "|")
		}, `{Path="/var/log/a.log" Format=format "combined"}|{Path="/srv/fulcrum/logs/b.log" Format=format "combined" Buffer=65536 Flush=5s If="$loggable"}|{Path="stdout" Format=format "combined"}`},
		{"types in a location", "types { } default_type application/octet-stream;", func(s *Settings) any { return len(s.Types) }, 0},
		{"error_log in a location", "error_log logs/loc.log info;", func(s *Settings) any { return s.ErrorLogs }, []ErrorLog{{Path: testPrefix + "/logs/loc.log", Level: LevelInfo}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { location / {\n"+tt.dirs+"\n} } }")
			s := cfg.HTTP.Servers[0].Locations[0].Settings
			clearPositions(s)
			if got := tt.check(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// clearPositions zeroes the positions in s that the tests do not compare.
func clearPositions(s *Settings) {
	for i := range s.Rewrites {
		s.Rewrites[i].Pos = Pos{}
		if r := s.Rewrites[i].Return; r != nil {
			r.Pos = Pos{}
		}
	}
	for i := range s.ErrorLogs {
		s.ErrorLogs[i].Pos = Pos{}
	}
}

// TestKeepaliveHeaderInherited: nginx merges keepalive_timeout's two values
// separately, so a level that writes only the timeout keeps the Keep-Alive
// header timeout of an outer level (checked against nginx 1.22: a location's
// "keepalive_timeout 2;" under "keepalive_timeout 65 60;" answers
// "Keep-Alive: timeout=60" and closes the idle connection after 2s).
func TestKeepaliveHeaderInherited(t *testing.T) {
	tests := []struct {
		name, http, server, loc string
		want                    [2]time.Duration
	}{
		{"default", "", "", "", [2]time.Duration{75 * time.Second, 0}},
		{"both at http", "keepalive_timeout 65 60;", "", "", [2]time.Duration{65 * time.Second, 60 * time.Second}},
		{"timeout only in location", "keepalive_timeout 65 60;", "", "keepalive_timeout 2;", [2]time.Duration{2 * time.Second, 60 * time.Second}},
		{"through a server without header", "keepalive_timeout 65 60;", "keepalive_timeout 30;", "keepalive_timeout 2;", [2]time.Duration{2 * time.Second, 60 * time.Second}},
		{"server's header wins", "keepalive_timeout 65 60;", "keepalive_timeout 30 20;", "keepalive_timeout 0;", [2]time.Duration{0, 20 * time.Second}},
		{"location sets its own", "keepalive_timeout 65 60;", "", "keepalive_timeout 5 4;", [2]time.Duration{5 * time.Second, 4 * time.Second}},
		{"no header anywhere", "keepalive_timeout 65;", "", "keepalive_timeout 2;", [2]time.Duration{2 * time.Second, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { "+tt.http+" server { "+tt.server+" location / { "+tt.loc+" } } }")
			s := cfg.HTTP.Servers[0].Locations[0].Settings
			if got := [2]time.Duration{s.KeepaliveTimeout, s.KeepaliveHeaderTimeout}; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWarningsPerInclude: nginx warns about a directive while it reads it,
// so a file included twice gets its warnings twice (each include reads it
// again), while a directive that many levels inherit is warned about once.
// Recorded with nginx 1.22.1 -t: an http-level gzip_types with text/html
// (which it always has) warned once though two servers and their locations
// inherit it; a file with "gzip_types text/html;" and an index whose first
// name is absolute, included in two servers, warned twice each.
func TestWarningsPerInclude(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.conf")
	if err := os.WriteFile(inc, []byte("gzip_types text/html;\nindex /abs.html last.html;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := mustLoad(t, `events {}
http {
    gzip_types text/plain text/html;
    server { listen 8081; server_name a; include `+inc+`; location / { } location /b/ { } }
    server { listen 8081; server_name b; include `+inc+`; }
}`)
	count := map[string]int{}
	for _, w := range cfg.Warnings {
		count[fmt.Sprintf("%s in %s:%d", w.Msg, filepath.Base(w.Pos.File), w.Pos.Line)]++
	}
	for w, n := range map[string]int{
		`duplicate MIME type "text/html" in nginx.conf:3`:                           1,
		`duplicate MIME type "text/html" in inc.conf:1`:                             2,
		`only the last index in "index" directive should be absolute in inc.conf:2`: 2,
	} {
		if count[w] != n {
			t.Errorf("%q came %d times, want %d (all: %v)", w, count[w], n, count)
		}
	}
}
