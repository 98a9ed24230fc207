package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestMailErrors checks the mail block's errors; the nginx ones are what
// nginx 1.22.1 -t (with ngx_mail_module loaded) prints for the same block.
func TestMailErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"no protocol", "auth_http 127.0.0.1:9; server { listen 127.0.0.1:1234; }", `unknown mail protocol for server in nginx.conf:1`},
		{"no auth_http", "server { listen 127.0.0.1:143; }", `no "auth_http" is defined for server in nginx.conf:1`},
		{"no listen", "auth_http 127.0.0.1:9; server { protocol imap; }", `no "listen" is defined for server in nginx.conf:1`},
		{"duplicate address", "auth_http 127.0.0.1:9; server { listen 1234; protocol imap; } server { listen 1234; protocol pop3; }", `duplicate "0.0.0.0:1234" address and port pair in nginx.conf:1`},
		{"pop3 login", "auth_http 127.0.0.1:9; server { listen 110; pop3_auth login; }", `invalid value "login" in nginx.conf:1`},
		{"protocol value", "auth_http 127.0.0.1:9; server { listen 110; protocol http; }", `unknown protocol "http" in nginx.conf:1`},
		{"imap apop", "auth_http 127.0.0.1:9; server { listen 143; imap_auth plain apop; }", `invalid value "apop" in nginx.conf:1`},
		{"smtp apop", "auth_http 127.0.0.1:9; server { listen 25; smtp_auth apop; }", `invalid value "apop" in nginx.conf:1`},
		// TLS, recorded with nginx 1.22.1 -t: the line is the directive's.
		{"ssl listen without certificate", "auth_http 127.0.0.1:9;\nserver {\nlisten 993 ssl; }", `no "ssl_certificate" is defined for the "listen ... ssl" directive in nginx.conf:3`},
		{"starttls without certificate", "auth_http 127.0.0.1:9;\nserver { listen 143;\nstarttls on; }", `no "ssl_certificate" is defined for the "starttls" directive in nginx.conf:3`},
		{"ssl on without certificate", "auth_http 127.0.0.1:9;\nserver { listen 143;\nssl on; }", `no "ssl_certificate" is defined for the "ssl" directive in nginx.conf:3`},
		{"ssl on and starttls", "auth_http 127.0.0.1:9; ssl_certificate a.pem; ssl_certificate_key a.key;\nserver { listen 143; ssl on;\nstarttls on; }", `"ssl" directive conflicts with "starttls" in nginx.conf:3`},
		{"starttls and ssl on", "auth_http 127.0.0.1:9; ssl_certificate a.pem; ssl_certificate_key a.key;\nserver { listen 143; starttls only;\nssl on; }", `"starttls" directive conflicts with "ssl on" in nginx.conf:3`},
		{"starttls value", "auth_http 127.0.0.1:9; server { listen 143; starttls maybe; }", `invalid value "maybe" in nginx.conf:1`},
		{"ssl_conf_command", "ssl_conf_command Options KTLS; auth_http 127.0.0.1:9; server { listen 143; }", `fulcrum does not support the "ssl_conf_command" directive yet in nginx.conf:1`},
		{"resolver valid", "resolver 127.0.0.1 valid=x; auth_http 127.0.0.1:9; server { listen 25; }", `invalid parameter: valid=x in nginx.conf:1`},
		{"bad url", "auth_http http://; server { listen 143; }", `invalid URL "http://" in auth_http in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "mail { "+tt.body+" }")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMailBuild checks defaults, the mail level's inheritance, the
// protocol nginx infers from a port and what loads without a warning.
func TestMailBuild(t *testing.T) {
	cfg := mustLoad(t, `mail {
    auth_http http://auth.local:9000/mail/auth;
    auth_http_header X-Key "a b";
    server_name mx.example;
    timeout 30s;
    proxy_timeout 10m;
    imap_capabilities IMAP4rev1 IDLE;
    resolver off;
    starttls off;
    server { listen 127.0.0.1:143; imap_auth external login plain CRAM-MD5; }
    server { listen 995; protocol pop3; pop3_auth external apop; xclient off; proxy_pass_error_message on; proxy_protocol on; }
    server { listen 587; smtp_auth login plain; smtp_client_buffer 8k; max_errors 3; server_name other; }
    server { listen 25; smtp_auth none external login; smtp_greeting_delay 2s; proxy_smtp_auth on; resolver 127.0.0.2:5353 valid=1m; resolver_timeout 2s; }
}`)
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	s := cfg.Mail.Servers
	if len(s) != 4 {
		t.Fatalf("%d servers", len(s))
	}
	want := MailAuthHTTP{Network: "tcp", Addr: "auth.local:9000", HostHeader: "auth.local", URI: "/mail/auth"}
	if s[0].AuthHTTP != want || s[0].AuthHTTPTimeout != 60*time.Second {
		t.Errorf("auth_http %+v %v", s[0].AuthHTTP, s[0].AuthHTTPTimeout)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"protocols", []string{s[0].Protocol, s[1].Protocol, s[2].Protocol}, []string{"imap", "pop3", "smtp"}},
		{"headers", s[1].AuthHTTPHeaders, [][2]string{{"X-Key", "a b"}}},
		{"names", []string{s[0].ServerName, s[2].ServerName}, []string{"mx.example", "other"}},
		{"timeouts", []time.Duration{s[0].Timeout, s[0].ProxyTimeout}, []time.Duration{30 * time.Second, 10 * time.Minute}},
		{"imap", [][]string{s[0].IMAPCapabilities, s[0].IMAPAuth}, [][]string{{"IMAP4rev1", "IDLE"}, {"plain", "login", "cram-md5", "external"}}},
		{"pop3", [][]string{s[1].POP3Capabilities, s[1].POP3Auth}, [][]string{nil, {"apop", "external"}}},
		{"smtp", [][]string{s[2].SMTPCapabilities, s[2].SMTPAuth, s[3].SMTPAuth}, [][]string{nil, {"plain", "login"}, {"login", "external"}}},
		{"smtp none", []bool{s[2].SMTPAuthNone, s[3].SMTPAuthNone}, []bool{false, true}},
		{"proxy_smtp_auth", []bool{s[2].ProxySMTPAuth, s[3].ProxySMTPAuth}, []bool{false, true}},
		{"greeting delay", []time.Duration{s[2].SMTPGreetingDelay, s[3].SMTPGreetingDelay}, []time.Duration{0, 2 * time.Second}},
		{"flags", []bool{s[0].XClient, s[1].XClient, s[0].PassErrorMessage, s[1].PassErrorMessage, s[0].ProxyProtocol, s[1].ProxyProtocol}, []bool{true, false, false, true, false, true}},
		{"buffers", []int{s[0].ClientBuffer, s[1].ClientBuffer, s[2].ClientBuffer}, []int{4096, 128, 8192}},
		{"max_errors", []int{s[0].MaxErrors, s[2].MaxErrors}, []int{5, 3}},
		{"resolver off", s[2].Resolver, (*DNSResolver)(nil)},
		{"resolver", []any{s[3].Resolver.Addrs, s[3].Resolver.Valid, s[3].Resolver.Timeout, s[3].Resolver.IPv6}, []any{[]string{"127.0.0.2:5353"}, time.Minute, 2 * time.Second, true}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestMailTLSBuild: "listen ... ssl" and "ssl on" make TLS listens,
// starttls and auth_http_pass_client_cert are read, the ssl_* settings
// are inherited from the mail level, and each "ssl" directive gets nginx
// 1.22.1's deprecation warning once.
func TestMailTLSBuild(t *testing.T) {
	cert, key := testutil.WriteCert(t, t.TempDir(), "srv", testutil.ECDSA, "mail.test")
	cfg := mustLoad(t, `mail {
    auth_http 127.0.0.1:9;
    ssl_certificate `+cert+`;
    ssl_certificate_key `+key+`;
    ssl_protocols TLSv1.2;
    ssl off;
    server { listen 127.0.0.1:993 ssl; listen 127.0.0.1:1993; protocol imap; }
    server { listen 127.0.0.1:143; starttls only; auth_http_pass_client_cert on; }
    server { listen 127.0.0.1:995; protocol pop3; ssl on; }
}`)
	var warned []int
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Msg, `the "ssl" directive is deprecated`) {
			warned = append(warned, w.Pos.Line)
		}
	}
	if !reflect.DeepEqual(warned, []int{6, 9}) {
		t.Errorf("deprecation warnings at lines %v, want 6 and 9 (%v)", warned, cfg.Warnings)
	}
	s := cfg.Mail.Servers
	got := []any{s[0].Listens[0].SSL, s[0].Listens[1].SSL, s[0].StartTLS, s[1].StartTLS, s[1].PassClientCert, s[2].Listens[0].SSL}
	want := []any{true, false, MailStartTLSOff, MailStartTLSOnly, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for i, srv := range s {
		if srv.TLS == nil || len(srv.TLS.Certificates) != 1 || srv.TLS.MaxVersion != tls.VersionTLS12 {
			t.Errorf("server %d: TLS %+v", i, srv.TLS)
		}
	}
}
