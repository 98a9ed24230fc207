package vars

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixedNow is the fake clock's time: 2026-11-25T01:24:22.500Z, Unix
// 1795569862.500.
var fixedNow = time.Date(2026, 11, 25, 1, 24, 22, 500_000_000, time.UTC)

func fixedClock() time.Time { return fixedNow }

// filledState is a request that went through two upstream attempts.
func filledState() *State {
	st := &State{}
	st.Method = "GET"
	st.RequestURI = "/search/a%20b?q=go&Lang=en&empty=&flag"
	st.Path = "/search/a b"
	st.Args = "q=go&Lang=en&empty=&flag"
	st.Host = "WWW.Example.COM.:8443"
	st.Scheme = "https"
	st.TLS = &TLS{Protocol: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "www.example.com",
		ALPN: "h2", Reused: true, Curve: 29, ClientCiphers: []uint16{0x1301, 0xc02f, 0x000a, 0x00ff}, ClientCurves: []uint16{0x0a0a, 0x11ec, 29, 23, 256}}
	st.Proto = "HTTP/1.1"
	st.RequestLine = "GET /search/a%20b?q=go&Lang=en&empty=&flag HTTP/1.1"
	st.Header = HeaderList{
		{"Host", "WWW.Example.COM.:8443"},
		{"User-Agent", "curl/8.5.0"},
		{"X-Forwarded-For", "203.0.113.7"},
		{"x-forwarded-for", "198.51.100.2, 198.51.100.3"},
		{"Cookie", "session=abc123; theme = dark"},
		{"Cookie", "lang=de"},
		{"Authorization", "Basic YWxpY2U6c2VjcmV0"},
		{"Content-Type", "application/json"},
		{"Content-Length", "17"},
		{"X-Empty", ""},
		{"X-Multi", "one"},
		{"X-Multi", "two"},
	}
	st.Remote = netip.MustParseAddrPort("192.0.2.10:51234")
	st.Local = netip.MustParseAddrPort("10.0.0.1:443")
	st.Length = 420
	st.Body = []byte(`{"hello":"world"}`)
	st.BodyFile = "/var/lib/fulcrum/body/1/00/0000000001"
	st.Conn = 17
	st.ConnRequests = 3
	st.Connections = fixedCounts{Active: 7, Reading: 1, Writing: 2, Waiting: 4}
	st.Start = fixedNow.Add(-1234567 * time.Microsecond)
	st.ServerName = "example.com"
	re := regexp.MustCompile(`^/(search)/(?P<term>[^/]+)(/x)?$`)
	st.Captures = Captures{Subject: st.Path, Index: re.FindStringSubmatchIndex(st.Path), Names: re.SubexpNames()}
	st.ProxyHost = "backend"
	st.ProxyPort = "80"
	st.CacheStatus = "HIT"
	st.Status = 200
	st.BytesSent = 1234
	st.BodyBytesSent = 1000

	a := st.StartAttempt(netip.MustParseAddrPort("10.0.0.5:8080"), "")
	a.Status = 502
	a.ResponseTime = 1500 * time.Microsecond
	b := st.StartAttempt(netip.MustParseAddrPort("[2001:db8::5]:8081"), "")
	b.Status = 200
	b.ResponseTime = 12*time.Millisecond + 900*time.Microsecond
	b.ConnectTime = 2 * time.Millisecond
	b.HeaderTime = 10 * time.Millisecond
	b.ResponseLength = 1000
	b.BytesReceived = 1180
	b.BytesSent = 310

	st.UpstreamHeader = HeaderMap{
		"Set-Cookie": {"sid=xyz; Path=/", "pref = 1"},
		"X-Backend":  {"b2"},
	}
	st.SentHeader = HeaderMap{
		"Content-Type": {"application/json"},
		"X-Cache":      {"MISS"},
	}
	return st
}

// value evaluates one variable and reports whether it was found.
func value(t *testing.T, c *Compiler, name string, st *State) (string, bool) {
	t.Helper()
	tpl, err := c.Compile("${" + name + "}")
	if err != nil {
		t.Fatalf("Compile %s: %v", name, err)
	}
	out, ok := tpl.parts[0].get([]byte("prefix:"), st)
	if !strings.HasPrefix(string(out), "prefix:") {
		t.Fatalf("$%s clobbered the buffer: %q", name, out)
	}
	if !ok && len(out) != len("prefix:") {
		t.Fatalf("$%s not found but appended %q", name, out)
	}
	return string(out[len("prefix:"):]), ok
}

const notFound = "<not found>"

func TestVariables(t *testing.T) {
	c := &Compiler{Hostname: "lb1", PID: 4242, Now: fixedClock}
	c.Declare("term")
	tests := []struct {
		name string
		want string // notFound for a variable that is not found
	}{
		{"host", "www.example.com"},
		{"hostname", "lb1"},
		{"pid", "4242"},
		{"http_user_agent", "curl/8.5.0"},
		{"HTTP_USER_AGENT", "curl/8.5.0"},
		{"http_x_forwarded_for", "203.0.113.7, 198.51.100.2, 198.51.100.3"},
		{"http_x_multi", "one, two"},
		{"http_x_empty", ""},
		{"http_x_absent", notFound},
		{"http_", notFound},
		{"http_cookie", "session=abc123; theme = dark; lang=de"},
		{"http_host", "WWW.Example.COM.:8443"},
		{"arg_q", "go"},
		{"arg_lang", "en"},
		{"arg_LANG", "en"},
		{"arg_empty", ""},
		{"arg_flag", notFound},
		{"arg_g", notFound},
		{"arg_", notFound},
		{"args", "q=go&Lang=en&empty=&flag"},
		{"query_string", "q=go&Lang=en&empty=&flag"},
		{"is_args", "?"},
		{"uri", "/search/a b"},
		{"document_uri", "/search/a b"},
		{"request_uri", "/search/a%20b?q=go&Lang=en&empty=&flag"},
		{"request_method", "GET"},
		{"request", "GET /search/a%20b?q=go&Lang=en&empty=&flag HTTP/1.1"},
		{"request_body", `{"hello":"world"}`},
		{"request_body_file", "/var/lib/fulcrum/body/1/00/0000000001"},
		{"request_length", "420"},
		{"remote_addr", "192.0.2.10"},
		{"remote_port", "51234"},
		{"binary_remote_addr", "\xc0\x00\x02\x0a"},
		{"remote_user", "alice"},
		{"server_addr", "10.0.0.1"},
		{"server_port", "443"},
		{"server_name", "example.com"},
		{"server_protocol", "HTTP/1.1"},
		{"scheme", "https"},
		{"https", "on"},
		{"http2", ""}, // HTTP/1.1 over TLS (TestHTTP2Variable: h2)
		{"ssl_protocol", "TLSv1.3"},
		{"ssl_cipher", "TLS_AES_128_GCM_SHA256"},
		{"ssl_server_name", "www.example.com"},
		{"ssl_alpn_protocol", "h2"},
		{"ssl_session_reused", "r"},
		{"ssl_curve", "X25519"},
		{"ssl_curves", "0x0a0a:X25519MLKEM768:X25519:prime256v1:ffdhe2048"}, // GREASE as nginx writes an unknown group
		{"ssl_ciphers", "TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256:0x000a:TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
		{"ssl_early_data", notFound},
		{"connection", "17"},
		{"connection_requests", "3"},
		{"connections_active", "7"},
		{"connections_reading", "1"},
		{"connections_writing", "2"},
		{"connections_waiting", "4"},
		{"status", "200"},
		{"request_time", "1.234"},
		{"msec", "1795569862.500"},
		{"time_local", "25/Nov/2026:01:24:22 +0000"},
		{"time_iso8601", "2026-11-25T01:24:22+00:00"},
		{"body_bytes_sent", "1000"},
		{"bytes_sent", "1234"},
		{"content_type", "application/json"},
		{"content_length", "17"},
		{"cookie_session", "abc123"},
		{"cookie_theme", "dark"},
		{"cookie_lang", "de"},
		{"cookie_SESSION", "abc123"},
		{"cookie_sess", notFound},
		{"cookie_none", notFound},
		{"sent_http_content_type", "application/json"},
		{"sent_http_x_cache", "MISS"},
		{"sent_http_location", notFound},
		{"proxy_host", "backend"},
		{"proxy_port", "80"},
		{"upstream_cache_status", "HIT"},
		{"proxy_add_x_forwarded_for", "203.0.113.7, 198.51.100.2, 198.51.100.3, 192.0.2.10"},
		{"upstream_addr", "10.0.0.5:8080, [2001:db8::5]:8081"},
		{"upstream_status", "502, 200"},
		{"upstream_response_time", "0.001, 0.012"},
		{"upstream_connect_time", "-, 0.002"},
		{"upstream_header_time", "-, 0.010"},
		{"upstream_response_length", "0, 1000"},
		{"upstream_bytes_received", "0, 1180"},
		{"upstream_bytes_sent", "0, 310"},
		{"upstream_http_x_backend", "b2"},
		{"upstream_http_set_cookie", "sid=xyz; Path=/, pref = 1"},
		{"upstream_http_x_nope", notFound},
		{"upstream_cookie_sid", "xyz"},
		{"upstream_cookie_pref", "1"},
		{"upstream_cookie_path", notFound},
		{"1", "search"},
		{"2", "a b"},
		{"3", ""},
		{"4", notFound},
		{"term", "a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ref := tt.name, "${"+tt.name+"}"
			if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
				ref = "$" + name
			}
			tpl, err := c.Compile(ref)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tpl.parts[0].get(nil, filledState())
			if !ok {
				got = []byte(notFound)
			}
			if string(got) != tt.want {
				t.Errorf("$%s = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestVariablesUnsetState checks what each variable is on a fresh State:
// the things nginx reports as "not found" print "-" in a default log line.
func TestVariablesUnsetState(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	tests := []struct {
		name string
		want string
	}{
		{"host", ""},
		{"args", notFound},
		{"is_args", ""},
		{"request_method", notFound},
		{"request_uri", notFound}, // a request line that did not parse
		{"request", notFound},
		{"server_protocol", notFound},
		{"request_body", notFound},
		{"request_body_file", notFound},
		{"remote_user", notFound},
		{"remote_addr", ""},
		{"remote_port", ""},
		{"status", "000"},
		{"scheme", "http"},
		{"https", ""},
		{"ssl_protocol", notFound},
		{"ssl_cipher", notFound},
		{"ssl_server_name", notFound},
		{"ssl_alpn_protocol", notFound},
		{"ssl_session_reused", notFound},
		{"ssl_curve", notFound},
		{"ssl_curves", notFound},
		{"ssl_ciphers", notFound},
		{"ssl_early_data", notFound},
		{"request_time", "0.000"},
		{"proxy_host", notFound},
		{"upstream_cache_status", notFound},
		{"proxy_add_x_forwarded_for", ""},
		{"upstream_addr", notFound},
		{"upstream_status", notFound},
		{"upstream_response_time", notFound},
		{"upstream_http_server", notFound},
		{"upstream_cookie_a", notFound},
		{"sent_http_server", notFound},
		{"http_user_agent", notFound},
		{"cookie_a", notFound},
		{"arg_a", notFound},
		{"body_bytes_sent", "0"},
		{"gzip_ratio", notFound},
		{"limit_req_status", notFound},
		{"limit_conn_status", notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(t, c, tt.name, &State{})
			if !ok {
				got = notFound
			}
			if got != tt.want {
				t.Errorf("$%s = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name, uri, args string
		want            string
	}{
		{"no query", "/p", "", notFound},
		{"bare question mark", "/p?", "", notFound}, // nginx 1.22.1 logs "-"
		{"query", "/p?a=1", "a=1", "a=1"},
		{"question mark only", "/p??", "?", "?"},
	}
	var c Compiler
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{}
			st.RequestURI, st.Args = tt.uri, tt.args
			got, ok := value(t, &c, "args", st)
			if !ok {
				got = notFound
			}
			if got != tt.want {
				t.Errorf("$args = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindArg(t *testing.T) {
	tests := []struct {
		args, name string
		want       string
	}{
		{"a=1&b=2", "b", "2"},
		{"a=1&b=2", "a", "1"},
		{"xa=1&a=2", "a", "2"},
		{"a&a=3", "a", "3"},
		{"a", "a", notFound},
		{"a=", "a", ""},
		{"q=a=5", "a", notFound},
		{"A=up", "a", "up"},
		{"a=1&a=2", "a", "1"},
		{"a=x%20y&b", "a", "x%20y"},
		{"ab=1", "a", notFound},
		{"b=1&&a=2", "a", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.args+"/"+tt.name, func(t *testing.T) {
			got, ok := findArg(tt.args, tt.name)
			if !ok {
				got = notFound
			}
			if got != tt.want {
				t.Errorf("findArg(%q, %q) = %q, want %q", tt.args, tt.name, got, tt.want)
			}
		})
	}
}

func TestFindCookie(t *testing.T) {
	tests := []struct {
		line, name string
		want       string
	}{
		{"a=1; b=2", "b", "2"},
		{"a=1;b=2", "b", "2"},
		{"a=1, b=2", "b", "2"},
		{"a = 1 ; b=2", "a", "1 "},
		{"ab=1; a=2", "a", "2"},
		{"A=up", "a", "up"},
		{"a", "a", notFound},
		{"x=1", "a", notFound},
		{"b;b=2", "b", notFound}, // nginx consumes the ';' after a bare name
		{"a=", "a", ""},
		{"a=1; a=2", "a", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.line+"/"+tt.name, func(t *testing.T) {
			got, ok := FindCookie(tt.line, tt.name)
			if !ok {
				got = notFound
			}
			if got != tt.want {
				t.Errorf("FindCookie(%q, %q) = %q, want %q", tt.line, tt.name, got, tt.want)
			}
		})
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		host, want string
	}{
		{"example.org", "example.org"},
		{"Example.ORG", "example.org"},
		{"example.org:8080", "example.org"},
		{"example.org.", "example.org"},
		{"[::1]:8080", "[::1]"},
		{"[2001:DB8::1]", "[2001:db8::1]"},
		{"10.0.0.1:80", "10.0.0.1"},
		{"", "fallback.example"},
		{":80", "fallback.example"},
	}
	var c Compiler
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			st := &State{ServerName: "fallback.example"}
			st.Host = tt.host
			if got, _ := value(t, &c, "host", st); got != tt.want {
				t.Errorf("$host for Host %q = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestRemoteUser(t *testing.T) {
	tests := []struct {
		auth, want string
	}{
		{"Basic YWxpY2U6c2VjcmV0", "alice"},
		{"basic   YWxpY2U6c2VjcmV0", "alice"},
		{"Basic YWxpY2U6c2VjcmV0==junk", "alice"},
		{"Basic OnB3", notFound},  // ":pw": empty user
		{"Basic Ym9i", notFound},  // "bob": no ':'
		{"Basic Y!==", notFound},  // invalid byte
		{"Basic YWxpY", notFound}, // 4n+1 characters
		{"Basic ", notFound},
		{"Bearer abc", notFound},
		{"Basi", notFound},
		{"Basic YTpiOmM=", "a"}, // "a:b:c": the password is "b:c"
	}
	var c Compiler
	for _, tt := range tests {
		t.Run(tt.auth, func(t *testing.T) {
			st := &State{}
			st.Header = HeaderList{{Name: "Authorization", Value: tt.auth}}
			got, ok := value(t, &c, "remote_user", st)
			if !ok {
				got = notFound
			}
			if got != tt.want {
				t.Errorf("$remote_user for %q = %q, want %q", tt.auth, got, tt.want)
			}
			// BasicCredentials, which auth_basic checks, reads the same user.
			user, password, ok := BasicCredentials(st)
			if !ok {
				user = notFound
			}
			if user != tt.want {
				t.Errorf("BasicCredentials(%q) user = %q, want %q", tt.auth, user, tt.want)
			}
			if want := map[string]string{"alice": "secret", "a": "b:c"}[tt.want]; ok && password != want {
				t.Errorf("BasicCredentials(%q) password = %q, want %q", tt.auth, password, want)
			}
		})
	}
}

func TestTimeZones(t *testing.T) {
	tests := []struct {
		zone           *time.Location
		local, iso8601 string
	}{
		{time.FixedZone("", 3*3600+30*60), "25/Nov/2026:04:54:22 +0330", "2026-11-25T04:54:22+03:30"},
		{time.FixedZone("PST", -8*3600), "24/Nov/2026:17:24:22 -0800", "2026-11-24T17:24:22-08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.local, func(t *testing.T) {
			c := &Compiler{Now: func() time.Time { return fixedNow.In(tt.zone) }}
			if got, _ := value(t, c, "time_local", &State{}); got != tt.local {
				t.Errorf("$time_local = %q, want %q", got, tt.local)
			}
			if got, _ := value(t, c, "time_iso8601", &State{}); got != tt.iso8601 {
				t.Errorf("$time_iso8601 = %q, want %q", got, tt.iso8601)
			}
			if got, _ := value(t, c, "msec", &State{}); got != "1795569862.500" {
				t.Errorf("$msec = %q, want zone-independent 1795569862.500", got)
			}
		})
	}
}

func TestRequestTimeClampsAndTruncates(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		want    string
	}{
		{0, "0.000"},
		{999 * time.Microsecond, "0.000"},
		{12 * time.Millisecond, "0.012"},
		{61*time.Second + 5*time.Millisecond, "61.005"},
		{-3 * time.Second, "0.000"},
	}
	c := &Compiler{Now: fixedClock}
	for _, tt := range tests {
		t.Run(tt.elapsed.String(), func(t *testing.T) {
			st := &State{}
			st.Start = fixedNow.Add(-tt.elapsed)
			if got, _ := value(t, c, "request_time", st); got != tt.want {
				t.Errorf("$request_time after %v = %q, want %q", tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestUpstreamNoServerTried(t *testing.T) {
	var c Compiler
	st := &State{}
	a := st.StartAttempt(netip.AddrPort{}, "backend")
	a.Status = 502
	a.ResponseTime = 0
	checks := map[string]string{
		"upstream_addr":          "backend",
		"upstream_status":        "502",
		"upstream_response_time": "0.000",
		"upstream_connect_time":  "-",
		"upstream_header_time":   "-",
		"upstream_queue_time":    "0.000",
	}
	for name, want := range checks {
		if got, _ := value(t, &c, name, st); got != want {
			t.Errorf("$%s = %q, want %q", name, got, want)
		}
	}
}

// TestUpstreamQueueTime: $upstream_queue_time (NGINX Plus) lists each
// attempt's wait in the upstream's queue like $upstream_connect_time:
// SetQueueTime gives the next attempt its wait, later ones print 0.000, a
// second proxying follows a colon, and Reset forgets a wait not used.
func TestUpstreamQueueTime(t *testing.T) {
	var c Compiler
	st := &State{}
	if got, ok := value(t, &c, "upstream_queue_time", st); ok {
		t.Errorf("no upstream: $upstream_queue_time = %q, want not found", got)
	}
	st.StartUpstreamGroup()
	st.SetQueueTime(1234500 * time.Microsecond)
	st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:2"), "")
	st.StartUpstreamGroup()
	st.SetQueueTime(7 * time.Millisecond)
	st.StartAttempt(netip.AddrPort{}, "app")
	if got, _ := value(t, &c, "upstream_queue_time", st); got != "1.234, 0.000 : 0.007" {
		t.Errorf("$upstream_queue_time = %q, want \"1.234, 0.000 : 0.007\"", got)
	}
	st.SetQueueTime(time.Second)
	st.Reset()
	st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	if got, _ := value(t, &c, "upstream_queue_time", st); got != "0.000" {
		t.Errorf("after Reset: $upstream_queue_time = %q, want 0.000", got)
	}
}

func TestUpstreamStatusUnsetPrintsDash(t *testing.T) {
	var c Compiler
	st := &State{}
	st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:1"), "")
	b := st.StartAttempt(netip.MustParseAddrPort("127.0.0.1:2"), "")
	b.Status = 504
	if got, _ := value(t, &c, "upstream_status", st); got != "-, 504" {
		t.Errorf("$upstream_status = %q, want %q", got, "-, 504")
	}
	if got, _ := value(t, &c, "upstream_response_time", st); got != "-, -" {
		t.Errorf("$upstream_response_time = %q, want %q", got, "-, -")
	}
}

// TestUpstreamGroups: the attempts of a later proxying of the request (after
// an error_page or X-Accel-Redirect) follow " : ", as nginx prints them
// ("502, 503 : 200"); a first proxying starts no group, and Reset forgets a
// pending one.
func TestUpstreamGroups(t *testing.T) {
	var c Compiler
	st := &State{}
	attempt := func(addr string, status int) {
		a := st.StartAttempt(netip.MustParseAddrPort(addr), "")
		a.Status = status
	}
	st.StartUpstreamGroup()
	attempt("127.0.0.1:1", 502)
	attempt("127.0.0.1:2", 503)
	st.StartUpstreamGroup()
	attempt("127.0.0.1:3", 200)
	checks := map[string]string{
		"upstream_addr":   "127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3",
		"upstream_status": "502, 503 : 200",
	}
	for name, want := range checks {
		if got, _ := value(t, &c, name, st); got != want {
			t.Errorf("$%s = %q, want %q", name, got, want)
		}
	}
	st.StartUpstreamGroup()
	st.Reset()
	attempt("127.0.0.1:4", 200)
	attempt("127.0.0.1:5", 200)
	if got, _ := value(t, &c, "upstream_status", st); got != "200, 200" {
		t.Errorf("after Reset: $upstream_status = %q, want %q", got, "200, 200")
	}
}

func TestRequestIDStablePerRequest(t *testing.T) {
	var c Compiler
	st := &State{}
	first, _ := value(t, &c, "request_id", st)
	if len(first) != 32 || strings.Trim(first, "0123456789abcdef") != "" {
		t.Fatalf("$request_id = %q, want 32 lower-case hex digits", first)
	}
	if again, _ := value(t, &c, "request_id", st); again != first {
		t.Errorf("$request_id changed within a request: %q then %q", first, again)
	}
	st.Reset()
	if next, _ := value(t, &c, "request_id", st); next == first {
		t.Errorf("$request_id %q survived Reset", next)
	}
}

func TestRequestLineComposedWhenAbsent(t *testing.T) {
	var c Compiler
	st := &State{}
	st.Method, st.RequestURI, st.Proto = "POST", "/form?x=1", "HTTP/1.0"
	if got, _ := value(t, &c, "request", st); got != "POST /form?x=1 HTTP/1.0" {
		t.Errorf("$request = %q", got)
	}
}

func TestRequestLineEmpty(t *testing.T) {
	var c Compiler
	st := &State{}
	st.Method, st.RequestURI, st.Proto = "GET", "/", "HTTP/1.1" // not composed
	st.EmptyRequestLine = true
	if got, found := value(t, &c, "request", st); got != "" || !found {
		t.Errorf("$request = %q (found %v), want empty and found", got, found)
	}
}

func TestBinaryRemoteAddrIPv6(t *testing.T) {
	var c Compiler
	st := &State{}
	st.Remote = netip.MustParseAddrPort("[2001:db8::1]:5")
	got, _ := value(t, &c, "binary_remote_addr", st)
	want := "\x20\x01\x0d\xb8" + strings.Repeat("\x00", 11) + "\x01"
	if got != want {
		t.Errorf("$binary_remote_addr = %x, want %x", got, want)
	}
}

func TestIPv6Addresses(t *testing.T) {
	var c Compiler
	st := &State{}
	st.Remote = netip.MustParseAddrPort("[2001:db8::7]:4000")
	st.Local = netip.MustParseAddrPort("[::1]:8080")
	st.Header = HeaderList{{Name: "X-Forwarded-For", Value: "10.1.1.1"}}
	checks := map[string]string{
		"remote_addr":               "2001:db8::7",
		"remote_port":               "4000",
		"server_addr":               "::1",
		"server_port":               "8080",
		"proxy_add_x_forwarded_for": "10.1.1.1, 2001:db8::7",
	}
	for name, want := range checks {
		if got, _ := value(t, &c, name, st); got != want {
			t.Errorf("$%s = %q, want %q", name, got, want)
		}
	}
}

func TestHeaderMapAndHeaderList(t *testing.T) {
	// The same fields through both adapters give the same variables.
	list := HeaderList{{"X-Tag", "a"}, {"Other", "z"}, {"x-tag", "b"}}
	hmap := HeaderMap{"X-Tag": {"a", "b"}, "Other": {"z"}}
	var c Compiler
	for _, h := range []Headers{list, hmap} {
		st := &State{}
		st.Header = h
		if got, _ := value(t, &c, "http_x_tag", st); got != "a, b" {
			t.Errorf("%T: $http_x_tag = %q, want %q", h, got, "a, b")
		}
	}
	if _, _, ok := hmap.Lookup("x-tag", 0); ok {
		t.Error("HeaderMap found a non-canonical key; it documents exact canonical lookup")
	}
}

// TestHTTPVariableUnderscoredNames: with fields whose names have '_' kept
// (UnderscoredFields), $http_NAME matches '_' in the variable to '-' or '_'
// in a name, in arrival order, as nginx's ngx_http_variable_unknown_header;
// the fields nginx reads by exact name never match that way. Checked against
// nginx 1.22.1 with underscores_in_headers on (it keeps the first value only,
// fulcrum joins them as 1.23 does).
func TestHTTPVariableUnderscoredNames(t *testing.T) {
	fields := HeaderList{{"X_Api_Key", "k1"}, {"X-Api-Key", "k2"}, {"A-B_C", "abc"},
		{"User_Agent", "u_"}, {"User-Agent", "ua"}, {"X_Forwarded_For", "6.6.6.6"}}
	hmap := HeaderMap{"X-Api-Key": {"k2"}, "User-Agent": {"ua"}}
	tests := []struct {
		name       string
		underscore bool
		want       string
	}{
		{"http_x_api_key", true, "k1, k2"},
		{"http_X_API_KEY", true, "k1, k2"},
		{"http_a_b_c", true, "abc"},
		{"http_user_agent", true, "ua"},
		{"http_x_forwarded_for", true, notFound},
		{"http_x_api_key", false, "k2"},
		{"http_a_b_c", false, notFound},
	}
	var c Compiler
	for _, tt := range tests {
		st := &State{}
		st.Header, st.Fields, st.UnderscoredFields = hmap, fields, tt.underscore
		got, ok := value(t, &c, tt.name, st)
		if !ok {
			got = notFound
		}
		if got != tt.want {
			t.Errorf("$%s (underscored %v) = %q, want %q", tt.name, tt.underscore, got, tt.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := map[string]string{
		"x-forwarded-for":  "X-Forwarded-For",
		"USER-AGENT":       "User-Agent",
		"x-real-ip":        "X-Real-Ip",
		"te":               "Te",
		"a--b":             "A--B",
		"www-authenticate": "Www-Authenticate",
	}
	for in, want := range tests {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReset(t *testing.T) {
	st := filledState()
	st.SetVar("x", "1")
	attemptsCap := cap(st.Upstreams)
	st.Reset()
	if st.Method != "" || st.Header != nil || st.Body != nil || st.Status != 0 ||
		st.UpstreamHeader != nil || st.SentHeader != nil || st.Captures.Index != nil ||
		len(st.Upstreams) != 0 || len(st.values) != 0 {
		t.Errorf("Reset left request data behind: %+v", st)
	}
	if cap(st.Upstreams) != attemptsCap || attemptsCap == 0 {
		t.Errorf("Reset dropped the attempts buffer: cap %d, was %d", cap(st.Upstreams), attemptsCap)
	}
	if _, ok := st.lookupVar("x"); ok {
		t.Error("SetVar value survived Reset")
	}
}

// TestTimeFormatsMatchGoLayouts cross-checks the hand-written log time
// formatters against time.AppendFormat over many instants and zones.
func TestTimeFormatsMatchGoLayouts(t *testing.T) {
	zones := []*time.Location{
		time.UTC,
		time.FixedZone("", 5*3600+45*60),
		time.FixedZone("", -(9*3600 + 30*60)),
		time.FixedZone("", 14*3600),
	}
	for _, z := range zones {
		for i := range 500 {
			tm := time.Unix(int64(i)*7_777_777+12345, int64(i)*1_000_003).In(z)
			if got, want := string(appendTimeLocal(nil, tm)), tm.Format("02/Jan/2006:15:04:05 -0700"); got != want {
				t.Fatalf("appendTimeLocal(%v) = %q, want %q", tm, got, want)
			}
			if got, want := string(appendTimeISO8601(nil, tm)), tm.Format("2006-01-02T15:04:05-07:00"); got != want {
				t.Fatalf("appendTimeISO8601(%v) = %q, want %q", tm, got, want)
			}
		}
	}
}

// TestSetCaptures: each match replaces $1..$9, even one without groups,
// while the named captures of the matches it replaces keep their values (what
// nginx 1.22.1 does after a regex location, then a map regex, matched).
func TestSetCaptures(t *testing.T) {
	c := &Compiler{}
	c.Declare("word", "mc")
	tpl, err := c.Compile("[$1][$2][$word][$mc]")
	if err != nil {
		t.Fatal(err)
	}
	match := func(expr, subject string) Captures {
		re := regexp.MustCompile(expr)
		return Captures{Subject: subject, Index: re.FindStringSubmatchIndex(subject), Names: re.SubexpNames()}
	}
	steps := []struct {
		name string
		c    Captures
		want string // "-" for a variable that is not found
	}{
		{"location", match(`^/re/(?P<word>[a-z]+)/(\d+)$`, "/re/abc/42"), "[abc][42][abc][-]"},
		{"map with a named group", match(`^(?P<mc>a+)b$`, "aab"), "[aa][-][abc][aa]"},
		{"map without groups", match(`^nogroup$`, "nogroup"), "[-][-][abc][aa]"},
		{"same name again", match(`^(?P<word>[a-z]+)$`, "xyz"), "[xyz][-][xyz][aa]"},
		{"group that did not take part", match(`^(x)(?P<mc>y)?$`, "x"), "[x][][xyz][]"},
	}
	st := &State{}
	for _, s := range steps {
		st.SetCaptures(s.c)
		if got := string(tpl.AppendEscaped(nil, st, EscapeDefault)); got != s.want {
			t.Errorf("after %s: %q, want %q", s.name, got, s.want)
		}
	}
	st.Reset()
	if got := string(tpl.AppendEscaped(nil, st, EscapeDefault)); got != "[-][-][-][-]" {
		t.Errorf("after Reset: %q", got)
	}
	// A warm State keeps earlier named captures without allocating.
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		st.Reset()
		for _, s := range steps {
			st.SetCaptures(s.c)
			buf = tpl.AppendEscaped(buf[:0], st, EscapeDefault)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}

// TestLimitStatuses checks $limit_conn_status's and $limit_req_status's
// values, nginx's names.
func TestLimitStatuses(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	tests := []struct {
		variable string
		st       State
		want     string
	}{
		{"limit_conn_status", State{LimitConn: LimitConnPassed}, "PASSED"},
		{"limit_conn_status", State{LimitConn: LimitConnRejected}, "REJECTED"},
		{"limit_conn_status", State{LimitConn: LimitConnRejectedDryRun}, "REJECTED_DRY_RUN"},
		{"limit_req_status", State{LimitReq: LimitReqPassed}, "PASSED"},
		{"limit_req_status", State{LimitReq: LimitReqDelayed}, "DELAYED"},
		{"limit_req_status", State{LimitReq: LimitReqRejected}, "REJECTED"},
		{"limit_req_status", State{LimitReq: LimitReqDelayedDryRun}, "DELAYED_DRY_RUN"},
		{"limit_req_status", State{LimitReq: LimitReqRejectedDryRun}, "REJECTED_DRY_RUN"},
	}
	for _, tt := range tests {
		t.Run(tt.variable+"/"+tt.want, func(t *testing.T) {
			got, ok := value(t, c, tt.variable, &tt.st)
			if !ok || got != tt.want {
				t.Errorf("$%s = %q (found %t), want %q", tt.variable, got, ok, tt.want)
			}
		})
	}
}

// TestGzipRatio: $gzip_ratio as nginx formats it (ngx_http_gzip_ratio_variable).
func TestGzipRatio(t *testing.T) {
	tests := []struct {
		in, out int64
		want    string
	}{
		{614, 62, "9.90"}, {2125, 1000, "2.13"}, {1999, 1000, "2.00"}, {1, 3, "0.33"}, {12, 32, "0.38"}, {100, 0, notFound},
	}
	c := &Compiler{}
	for _, tt := range tests {
		got, ok := value(t, c, "gzip_ratio", &State{GzipIn: tt.in, GzipOut: tt.out})
		if !ok {
			got = notFound
		}
		if got != tt.want {
			t.Errorf("in %d out %d: $gzip_ratio %q, want %q", tt.in, tt.out, got, tt.want)
		}
	}
}

// fixedCounts is a ConnectionCounter with fixed counts.
type fixedCounts ConnectionCounts

func (c fixedCounts) ConnectionCounts() ConnectionCounts { return ConnectionCounts(c) }

// TestConnectionsWithoutCounter checks that the $connections_* variables are
// not found when the engine gives no counter.
func TestConnectionsWithoutCounter(t *testing.T) {
	for _, name := range []string{"connections_active", "connections_reading", "connections_writing", "connections_waiting"} {
		c := &Compiler{}
		tmpl, err := c.Compile("[$" + name + "]")
		if err != nil {
			t.Fatal(err)
		}
		if got := tmpl.String(&State{}); got != "[]" {
			t.Errorf("$%s without a counter = %q, want %q", name, got, "[]")
		}
	}
}

// TestHTTP2Variable checks $http2: "h2" for HTTP/2 over TLS, "h2c" for
// plain-text HTTP/2 (nginx 1.22.1 with "listen ... http2" and curl
// --http2-prior-knowledge), empty for HTTP/1.x.
func TestHTTP2Variable(t *testing.T) {
	tests := []struct{ proto, scheme, want string }{
		{"HTTP/2.0", "https", "h2"},
		{"HTTP/1.1", "https", ""},
		{"HTTP/2.0", "http", "h2c"},
		{"HTTP/1.1", "http", ""},
	}
	for _, tt := range tests {
		c := &Compiler{}
		tmpl, err := c.Compile("[$http2]")
		if err != nil {
			t.Fatal(err)
		}
		st := &State{}
		st.Proto, st.Scheme = tt.proto, tt.scheme
		if got := tmpl.String(st); got != "["+tt.want+"]" {
			t.Errorf("%s %s: %q, want [%s]", tt.proto, tt.scheme, got, tt.want)
		}
	}
}

// TestSentConnection: nginx computes $sent_http_connection and
// $sent_http_keep_alive from r->keepalive, which ngx_http_set_keepalive
// clears before the access log line is written: nginx 1.22.1 logs "close"
// and no $sent_http_keep_alive for HTTP/1.x responses that went out with "Connection:
// keep-alive" and "Keep-Alive: timeout=60", and "upgrade" for a 101.
func TestSentConnection(t *testing.T) {
	c := &Compiler{}
	tmpl, err := c.Compile("$sent_http_connection $sent_http_keep_alive")
	if err != nil {
		t.Fatal(err)
	}
	keepAlive := HeaderMap{"Connection": {"keep-alive"}, "Keep-Alive": {"timeout=60"}}
	tests := []struct {
		name    string
		proto   string
		status  int
		logging bool
		sent    Headers
		want    string
	}{
		{"keep-alive, while serving", "HTTP/1.1", 200, false, keepAlive, "keep-alive timeout=60"},
		{"keep-alive, logged", "HTTP/1.1", 200, true, keepAlive, "close "},
		{"HTTP/1.0 keep-alive, logged", "HTTP/1.0", 200, true, keepAlive, "close "},
		{"close, logged", "HTTP/1.1", 400, true, HeaderMap{"Connection": {"close"}}, "close "},
		{"nothing sent (444, 499), logged", "HTTP/1.1", 499, true, nil, "close "},
		{"upgrade, logged", "HTTP/1.1", 101, true, HeaderMap{"Connection": {"upgrade"}}, "upgrade "},
		{"HTTP/2, logged", "HTTP/2.0", 200, true, nil, " "},
	}
	for _, tt := range tests {
		st := &State{}
		st.Proto, st.Status, st.Logging, st.SentHeader = tt.proto, tt.status, tt.logging, tt.sent
		if got := tmpl.String(st); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// fakeSocket is a SocketInfo with fixed values.
type fakeSocket struct {
	info TCPInfo
	ok   bool
}

func (f fakeSocket) TCPInfo() (TCPInfo, bool) { return f.info, f.ok }

// fakeRoot is a Documents whose root is a fixed directory.
type fakeRoot string

func (r fakeRoot) AppendDocumentRoot(dst []byte, _ *State) ([]byte, bool) {
	return append(dst, r...), true
}

func (r fakeRoot) AppendRequestFilename(dst []byte, st *State) ([]byte, bool) {
	return append(append(dst, r...), st.Path...), true
}

// TestConnectionAndCompletionVariables: $pipe, $request_completion,
// $tcpinfo_*, $sent_trailer_NAME and $realpath_root, with the values nginx
// 1.22.1 logged: "p" for the second and third of three requests sent in one
// write, "." otherwise; "OK" for a response sent whole (a 400 or 404
// included), empty for 444 and 499; the trailer add_trailer sent (none for
// HEAD, a 404 without "always" or an empty value); the root with its
// symbolic links resolved, not found for a root that does not exist.
func TestConnectionAndCompletionVariables(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	c := &Compiler{}
	tests := []struct {
		name, tmpl string
		set        func(st *State)
		want       string
	}{
		{"first request", "$pipe", func(*State) {}, "."},
		{"pipelined", "$pipe", func(st *State) { st.Pipelined = true }, "p"},
		{"completed", "[$request_completion]", func(st *State) { st.Completed = true }, "[OK]"},
		{"not completed", "[$request_completion]", func(*State) {}, "[]"},
		{"tcpinfo", "$tcpinfo_rtt $tcpinfo_rttvar $tcpinfo_snd_cwnd $tcpinfo_rcv_space",
			func(st *State) {
				st.Socket = fakeSocket{TCPInfo{RTT: 61, RTTVar: 113, SndCwnd: 12, RcvSpace: 65483}, true}
			},
			"61 113 12 65483"},
		{"tcpinfo unreadable", "[$tcpinfo_rtt]", func(st *State) { st.Socket = fakeSocket{} }, "[]"},
		{"tcpinfo without socket", "[$tcpinfo_rtt]", func(*State) {}, "[]"},
		{"sent trailer", "$sent_trailer_x_t|$sent_trailer_nope",
			func(st *State) { st.SentTrailer = HeaderList{{Name: "X-T", Value: "tv-200"}} }, "tv-200|"},
		{"realpath_root through a link", "$realpath_root",
			func(st *State) { st.Documents = fakeRoot(filepath.Join(dir, "link")) }, filepath.Join(dir, "real")},
		{"realpath_root of a missing root", "[$realpath_root]",
			func(st *State) { st.Documents = fakeRoot(filepath.Join(dir, "nonexistent")) }, "[]"},
	}
	for _, tt := range tests {
		tmpl, err := c.Compile(tt.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		st := &State{}
		tt.set(st)
		if got := tmpl.String(st); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestTLSVariablesEmpty checks that a TLS variable whose value is empty is
// not found ("-" in a log line), as nginx's ngx_http_ssl_variable has it:
// no SNI, no ALPN, no key exchange group, a resumed TLS 1.2 session's groups.
func TestTLSVariablesEmpty(t *testing.T) {
	c := &Compiler{Now: fixedClock}
	st := filledState()
	st.TLS = &TLS{Protocol: "TLSv1.2", Cipher: "AES128-GCM-SHA256"}
	for _, name := range []string{"ssl_server_name", "ssl_alpn_protocol", "ssl_curve", "ssl_curves", "ssl_ciphers", "ssl_early_data"} {
		tpl, err := c.Compile("$" + name)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := tpl.parts[0].get(nil, st); ok {
			t.Errorf("$%s = %q, want not found", name, got)
		}
	}
	tpl, err := c.Compile("$ssl_session_reused")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tpl.parts[0].get(nil, st); !ok || string(got) != "." {
		t.Errorf("$ssl_session_reused = %q (found %v), want \".\"", got, ok)
	}
}

// TestTimeTextFollowsTheClock checks that one compiled $time_local and
// $time_iso8601 (which keep the text of the last second they printed) print
// again when the clock reaches the next second or the location changes, and
// not a text kept from before.
func TestTimeTextFollowsTheClock(t *testing.T) {
	now := fixedNow
	c := &Compiler{Now: func() time.Time { return now }}
	local, err := c.Compile("$time_local")
	if err != nil {
		t.Fatal(err)
	}
	iso, err := c.Compile("$time_iso8601")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		now            time.Time
		local, iso8601 string
	}{
		{fixedNow, "25/Nov/2026:01:24:22 +0000", "2026-11-25T01:24:22+00:00"},
		{fixedNow.Add(400 * time.Millisecond), "25/Nov/2026:01:24:22 +0000", "2026-11-25T01:24:22+00:00"},
		{fixedNow.Add(500 * time.Millisecond), "25/Nov/2026:01:24:23 +0000", "2026-11-25T01:24:23+00:00"},
		{fixedNow.Add(500 * time.Millisecond).In(time.FixedZone("", 3600)), "25/Nov/2026:02:24:23 +0100", "2026-11-25T02:24:23+01:00"},
		{fixedNow.Add(500 * time.Millisecond), "25/Nov/2026:01:24:23 +0000", "2026-11-25T01:24:23+00:00"},
		{fixedNow.Add(-time.Hour), "25/Nov/2026:00:24:22 +0000", "2026-11-25T00:24:22+00:00"},
	}
	for _, step := range steps {
		now = step.now
		if got := string(local.Append(nil, &State{})); got != step.local {
			t.Errorf("at %v: $time_local = %q, want %q", step.now, got, step.local)
		}
		if got := string(iso.Append(nil, &State{})); got != step.iso8601 {
			t.Errorf("at %v: $time_iso8601 = %q, want %q", step.now, got, step.iso8601)
		}
	}
}

// TestStatusDigits checks $status's three-digit printing ("%03ui") at its
// edges.
func TestStatusDigits(t *testing.T) {
	for status, want := range map[int]string{-1: "000", 0: "000", 7: "007", 42: "042", 100: "100", 200: "200", 999: "999", 1000: "1000", 123456: "123456"} {
		st := &State{}
		st.Status = status
		if got, ok := getStatus([]byte("p:"), st); !ok || string(got) != "p:"+want {
			t.Errorf("status %d: %q, %v; want %q", status, got, ok, want)
		}
	}
}

// TestLoggedFieldsFromList checks that $http_user_agent, $http_referer and
// $remote_user read from the request's field list (State.Fields) exactly what
// they read from its map (State.Header) alone: names in any case, repeated
// fields joined in order, names that only look alike, lists short and long.
func TestLoggedFieldsFromList(t *testing.T) {
	basic := "Basic YWxpY2U6c2VjcmV0" // alice:secret
	lists := []HeaderList{
		{},
		{{"Host", "a"}},
		{{"Host", "a"}, {"User-Agent", "curl/8"}, {"Accept", "*/*"}},
		{{"user-agent", "x"}, {"REFERER", "http://r/"}, {"User-Agent", "y"}, {"authorization", basic}},
		{{"User_Agent", "u"}, {"Referrer", "r"}, {"User-Agents", "s"}, {"Authorization", "Bearer t"}},
		{{"Referer", ""}, {"Referer", "b"}, {"Authorization", basic}, {"Authorization", "Basic Ym9iOng="}},
	}
	long := HeaderList{}
	for i := range maxScannedFields + 3 {
		long = append(long, Field{Name: "X-F" + string(rune('a'+i)), Value: "v"})
	}
	lists = append(lists, append(long, Field{"user-agent", "late"}, Field{"Referer", "r1"}, Field{"referer", "r2"}))
	c := &Compiler{}
	tpl, err := c.Compile(`[$http_user_agent|$http_referer|$remote_user]`)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lists {
		m := HeaderMap{}
		for _, f := range l {
			k := f.Name
			if !strings.Contains(k, "_") {
				k = Canonical(k)
			}
			m[k] = append(m[k], f.Value)
		}
		mapOnly, listed := &State{}, &State{}
		mapOnly.Header = m
		listed.Header, listed.Fields = m, l
		for _, esc := range []Escape{EscapeDefault, EscapeJSON} {
			want := string(tpl.AppendEscaped(nil, mapOnly, esc))
			if got := string(tpl.AppendEscaped(nil, listed, esc)); got != want {
				t.Errorf("%v, escape=%s: from the list %q, from the map %q", l, esc, got, want)
			}
		}
	}
}
