package config

import (
	"strings"
	"testing"
)

// TestSyslogErrors checks the load-time refusals of syslog: and memory:
// targets, worded as nginx 1.22.1 words them (recorded with nginx -t).
func TestSyslogErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "http { access_log syslog:; }", `unknown syslog parameter "" in nginx.conf:1`},
		{"no server", "http { access_log syslog:facility=local0; }", `no syslog server specified in nginx.conf:1`},
		{"no server, error_log", "error_log syslog:tag=x;", `no syslog server specified in nginx.conf:1`},
		{"facility", "http { access_log syslog:server=127.0.0.1,facility=bogus; }", `unknown syslog facility "bogus" in nginx.conf:1`},
		{"facility case", "http { access_log syslog:server=127.0.0.1,facility=LOCAL0; }", `unknown syslog facility "LOCAL0" in nginx.conf:1`},
		{"facility empty", "error_log syslog:server=127.0.0.1,facility=;", `unknown syslog facility "" in nginx.conf:1`},
		{"severity", "http { access_log syslog:server=127.0.0.1,severity=bogus; }", `unknown syslog severity "bogus" in nginx.conf:1`},
		{"severity empty", "error_log syslog:server=127.0.0.1,severity=;", `unknown syslog severity "" in nginx.conf:1`},
		{"tag chars", "http { access_log syslog:server=127.0.0.1,tag=a-b; }", `syslog "tag" only allows alphanumeric characters and underscore in nginx.conf:1`},
		{"tag non-ASCII", "error_log syslog:server=127.0.0.1,tag=É;", `syslog "tag" only allows alphanumeric characters and underscore in nginx.conf:1`},
		{"tag length", "http { access_log syslog:server=127.0.0.1,tag=abcdefghijabcdefghijabcdefghij123; }", `syslog tag length exceeds 32 in nginx.conf:1`},
		{"tag length before duplicate", "error_log syslog:server=127.0.0.1,tag=abcdefghijabcdefghijabcdefghij123,tag=b;", `syslog tag length exceeds 32 in nginx.conf:1`},
		{"unknown parameter", "http { access_log syslog:server=127.0.0.1,foo=bar; }", `unknown syslog parameter "foo=bar" in nginx.conf:1`},
		{"nohostname value", "http { access_log syslog:server=127.0.0.1,nohostname=1; }", `unknown syslog parameter "nohostname=1" in nginx.conf:1`},
		{"empty parameter", "http { access_log syslog:server=127.0.0.1,,tag=x; }", `unknown syslog parameter "" in nginx.conf:1`},
		{"trailing comma", "error_log syslog:server=127.0.0.1,tag=x, info;", `unknown syslog parameter "" in nginx.conf:1`},
		{"host not found", "http { access_log syslog:server=no.such.host.invalid; }", `host not found in syslog server "no.such.host.invalid" in nginx.conf:1`},
		{"variable", "http { access_log syslog:server=$host; }", `host not found in syslog server "$host" in nginx.conf:1`},
		{"port too big", "http { access_log syslog:server=127.0.0.1:99999; }", `invalid port in syslog server "127.0.0.1:99999" in nginx.conf:1`},
		{"port 0", "http { access_log syslog:server=127.0.0.1:0; }", `invalid port in syslog server "127.0.0.1:0" in nginx.conf:1`},
		{"port letters", "http { access_log syslog:server=127.0.0.1:abc; }", `invalid port in syslog server "127.0.0.1:abc" in nginx.conf:1`},
		{"port empty", "error_log syslog:server=127.0.0.1:;", `invalid port in syslog server "127.0.0.1:" in nginx.conf:1`},
		{"bare IPv6", "error_log syslog:server=::1;", `invalid port in syslog server "::1" in nginx.conf:1`},
		{"no host", "error_log syslog:server=;", `no host in syslog server "" in nginx.conf:1`},
		{"scheme", "http { access_log syslog:server=http://127.0.0.1; }", `invalid host in syslog server "http://127.0.0.1" in nginx.conf:1`},
		{"unix no path", "http { access_log syslog:server=unix:; }", `no path in the unix domain socket in syslog server "unix:" in nginx.conf:1`},
		{"duplicate server", "http { access_log syslog:server=127.0.0.1,server=127.0.0.2; }", `duplicate syslog "server" in nginx.conf:1`},
		{"duplicate facility", "http { access_log syslog:server=127.0.0.1,facility=local0,facility=kern; }", `duplicate syslog "facility" in nginx.conf:1`},
		{"duplicate severity", "error_log syslog:server=127.0.0.1,severity=warn,severity=info;", `duplicate syslog "severity" in nginx.conf:1`},
		{"duplicate tag", "error_log syslog:server=127.0.0.1,tag=a,tag=b;", `duplicate syslog "tag" in nginx.conf:1`},
		{"error_log level", "error_log syslog:server=127.0.0.1 bogus;", `invalid log level "bogus" in nginx.conf:1`},
		{"buffer", "http { access_log syslog:server=127.0.0.1 combined buffer=32k; }", `logs to syslog cannot be buffered in nginx.conf:1`},
		{"buffer and flush", "http { access_log syslog:server=127.0.0.1 combined buffer=1k flush=1s; }", `logs to syslog cannot be buffered in nginx.conf:1`},
		{"flush", "http { access_log syslog:server=127.0.0.1 combined flush=1s; }", `no buffer is defined for access_log "syslog:server=127.0.0.1" in nginx.conf:1`},
		{"gzip", "http { access_log syslog:server=127.0.0.1 combined gzip; }", `logs to syslog cannot be buffered in nginx.conf:1`},
		{"gzip level", "http { access_log syslog:server=127.0.0.1 combined gzip=1; }", `logs to syslog cannot be buffered in nginx.conf:1`},
		{"parameter", "http { access_log syslog:server=127.0.0.1 combined foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"format", "http { access_log syslog:server=127.0.0.1 bogusfmt; }", `unknown log format "bogusfmt" in nginx.conf:1`},
		{"location port", "http { server { location / { error_log syslog:server=127.0.0.1:70000; } } }", `invalid port in syslog server "127.0.0.1:70000" in nginx.conf:1`},
		{"stream buffer", "stream { log_format s x; server { listen 127.0.0.1:1; access_log syslog:server=127.0.0.1 s buffer=1k; return x; } }", `logs to syslog cannot be buffered in nginx.conf:1`},
		{"stream facility", "stream { error_log syslog:server=127.0.0.1,facility=x; server { listen 127.0.0.1:1; return x; } }", `unknown syslog facility "x" in nginx.conf:1`},
		{"mail tag", "mail { auth_http 127.0.0.1:9/a; server { listen 127.0.0.1:1; protocol smtp; error_log syslog:server=127.0.0.1,tag=a.b; } }", `syslog "tag" only allows alphanumeric characters and underscore in nginx.conf:1`},
		// nginx 1.22.1 is built --with-debug by Debian: memory:SIZE is
		// accepted when SIZE holds a line (2122 bytes with a 23-byte path)
		{"memory empty", "error_log memory:;", `invalid buffer size "" in nginx.conf:1`},
		{"memory 0", "error_log memory:0;", `invalid buffer size "0" in nginx.conf:1`},
		{"memory 2k", "error_log memory:2k;", `invalid buffer size "2k" in nginx.conf:1`},
		{"memory bad", "error_log memory:bad;", `invalid buffer size "bad" in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

// TestSyslogTargets checks the parsed syslog: targets at every level nginx
// allows them, with nginx's defaults (local7, info, tag "nginx", port 514).
func TestSyslogTargets(t *testing.T) {
	def := func(addr string) Syslog {
		return Syslog{Network: "udp", Addr: addr, Facility: 23, Severity: 6, Tag: "nginx"}
	}
	src := `error_log syslog:server=127.0.0.1 info;
error_log memory:1m debug;
http {
  access_log syslog:server=[::1]:515,facility=daemon,severity=debug,tag=,nohostname,nohostname;
  server {
    listen 127.0.0.1:1;
    error_log syslog:server=backend.test:1514,tag=Web_1 warn;
    location / {
      access_log syslog:server=unix:/dev/log,facility=kern,severity=emerg;
      if ($uri) { access_log syslog:server=localhost,tag=ifloc; }
    }
  }
}
stream {
  log_format s x;
  error_log syslog:server=127.0.0.1:516,facility=local0;
  server { listen 127.0.0.1:2; access_log syslog:server=127.0.0.1,tag=st s; return x; }
}
mail {
  auth_http 127.0.0.1:9/auth;
  error_log syslog:server=127.0.0.1:517;
  server { listen 127.0.0.1:3; protocol smtp; error_log syslog:server=127.0.0.1:518,severity=alert info; }
}
`
	cfg := mustLoad(t, src)
	main := cfg.Main.ErrorLogs
	if len(main) != 3 || main[2].Path != testPrefix+"/logs/error.log" || main[0].Syslog != def("127.0.0.1:514") || main[0].Path != "syslog:server=127.0.0.1" || main[0].Level != LevelInfo {
		t.Errorf("main error_log %+v", main)
	}
	if main[1].Path != "memory:1m" || main[1].Memory != 1<<20 || main[1].Syslog.Addr != "" {
		t.Errorf("memory error_log %+v", main[1])
	}
	if got, want := cfg.HTTP.AccessLogs[0].Syslog, (Syslog{Network: "udp", Addr: "[::1]:515", Facility: 3, Severity: 7, Tag: "", NoHostname: true}); got != want {
		t.Errorf("http access_log %+v, want %+v", got, want)
	}
	srv := cfg.HTTP.Servers[0]
	if got := srv.Settings.ErrorLogs; len(got) != 1 || got[0].Syslog != (Syslog{Network: "udp", Addr: "10.0.0.1:1514", Facility: 23, Severity: 6, Tag: "Web_1"}) || got[0].Level != LevelWarn {
		t.Errorf("server error_log %+v", got)
	}
	loc := srv.Locations[0]
	if got := loc.Settings.AccessLogs; len(got) != 1 || got[0].Syslog != (Syslog{Network: "unixgram", Addr: "/dev/log", Facility: 0, Severity: 0, Tag: "nginx"}) {
		t.Errorf("location access_log %+v", got)
	}
	if got := loc.Settings.ErrorLogs; len(got) != 1 || got[0].Syslog.Tag != "Web_1" {
		t.Errorf("location inherits the server's error_log: %+v", got)
	}
	ifLoc := loc.Settings.Rewrites[0].If.Location
	if got := ifLoc.Settings.AccessLogs; len(got) != 1 || got[0].Syslog != (Syslog{Network: "udp", Addr: "127.0.0.1:514", Facility: 23, Severity: 6, Tag: "ifloc"}) {
		t.Errorf("if in location access_log %+v", got)
	}
	ss := cfg.Stream.Servers[0]
	if len(ss.AccessLogs) != 1 || ss.AccessLogs[0].Syslog.Tag != "st" || len(ss.ErrorLogs) != 1 || ss.ErrorLogs[0].Syslog.Facility != 16 {
		t.Errorf("stream logs %+v %+v", ss.AccessLogs, ss.ErrorLogs)
	}
	ms := cfg.Mail.Servers[0]
	if len(ms.ErrorLogs) != 1 || ms.ErrorLogs[0].Syslog.Addr != "127.0.0.1:518" || ms.ErrorLogs[0].Level != LevelInfo {
		t.Errorf("mail server error_log %+v", ms.ErrorLogs)
	}
}

// TestAccessLogMemoryIsAFile checks that "access_log memory:1m" names a
// file, as in nginx (only error_log has memory: targets).
func TestAccessLogMemoryIsAFile(t *testing.T) {
	cfg := mustLoad(t, "http { access_log memory:1m; }")
	if got := cfg.HTTP.AccessLogs[0].Path; got != testPrefix+"/memory:1m" {
		t.Errorf("path %q", got)
	}
}

// TestMainSyslogOnlyKeepsDefaultFile: when every main error_log is a
// syslog: or memory: target, nginx 1.22.1 writes the default error log
// file too, at error (ngx_log_open_default; recorded with -e: the request's
// [error] line was in the -e file).
func TestMainSyslogOnlyKeepsDefaultFile(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"error_log syslog:server=127.0.0.1 info;", []string{"syslog:server=127.0.0.1 info", testPrefix + "/logs/error.log error"}},
		{"error_log memory:1m debug;", []string{"memory:1m debug", testPrefix + "/logs/error.log error"}},
		{"error_log syslog:server=127.0.0.1; error_log stderr warn;", []string{"syslog:server=127.0.0.1 error", "stderr warn"}},
		{"error_log /var/log/e.log; error_log syslog:server=127.0.0.1;", []string{"/var/log/e.log error", "syslog:server=127.0.0.1 error"}},
	}
	for _, tt := range tests {
		cfg := mustLoad(t, tt.src)
		var got []string
		for _, l := range cfg.Main.ErrorLogs {
			got = append(got, l.Path+" "+l.Level.String())
		}
		if strings.Join(got, ", ") != strings.Join(tt.want, ", ") {
			t.Errorf("%s: got %q, want %q", tt.src, got, tt.want)
		}
	}
}
