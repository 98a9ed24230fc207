package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestSSLOn checks the deprecated "ssl on" against nginx 1.22: every "ssl"
// directive warns; the default server's "ssl on" makes its whole address TLS;
// "ssl on" in a server that is not the default changes no listen; a server's
// "ssl off" overrides the http level's "ssl on".
func TestSSLOn(t *testing.T) {
	_, cert, key, _, _ := tlsFiles(t)
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	tests := []struct {
		name     string
		http     string
		warnings int
		// ssl is Listen.SSL of the first listen of each server, in order.
		ssl []bool
	}{
		{"off", "server { listen 8443; ssl off; }", 1, []bool{false}},
		{"default server on", "server { listen 8443; server_name a; ssl on; " + pair + " } server { listen 8443; server_name b; }", 1, []bool{true, true}},
		{"other server on", "server { listen 8443; server_name a; } server { listen 8443; server_name b; ssl on; " + pair + " }", 1, []bool{false, false}},
		{"explicit default on", "server { listen 8443; server_name a; } server { listen 8443 default_server; server_name b; ssl on; " + pair + " }", 1, []bool{true, true}},
		{"http on, server off", "ssl on; " + pair + "\nserver { listen 8443; ssl off; }", 2, []bool{false}},
		{"http on", "ssl on; " + pair + " server { listen 8443; } server { listen 8444; }", 1, []bool{true, true}},
		{"with listen ssl", "server { listen 8443 ssl; ssl on; " + pair + " }", 1, []bool{true}},
		{"other address unchanged", "server { listen 8443; ssl on; " + pair + " } server { listen 8444; }", 1, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http {\n"+tt.http+"\n}\n")
			n := 0
			for _, w := range cfg.Warnings {
				if w.Msg == sslDeprecated {
					n++
				}
			}
			if n != tt.warnings {
				t.Errorf("%d deprecation warnings, want %d: %v", n, tt.warnings, cfg.Warnings)
			}
			for i, s := range cfg.HTTP.Servers {
				if got := s.Listens[0].SSL; got != tt.ssl[i] {
					t.Errorf("server %d: SSL %v, want %v", i, got, tt.ssl[i])
				}
			}
		})
	}
}

// TestSSLOnErrors checks nginx's errors for "ssl" at -t.
func TestSSLOnErrors(t *testing.T) {
	_, cert, key, _, _ := tlsFiles(t)
	pair := fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	tests := []struct{ name, http, want string }{
		{"no certificate", "server {\n listen 8443;\n ssl on;\n}", `no "ssl_certificate" is defined for the "ssl" directive in nginx.conf:4`},
		{"no certificate, not default", "server { listen 8443; " + pair + " }\nserver {\n listen 8443; server_name b;\n ssl on;\n}", `no "ssl_certificate" is defined for the "ssl" directive in nginx.conf:5`},
		{"http level, no certificate", "ssl on;\nserver { listen 8443; }", `no "ssl_certificate" is defined for the "ssl" directive in nginx.conf:2`},
		{"bad value", "server {\n ssl yes;\n}", `invalid value "yes" in "ssl" directive, it must be "on" or "off" in nginx.conf:3`},
		{"duplicate", "server {\n ssl on;\n ssl on;\n}", `"ssl" directive is duplicate in nginx.conf:4`},
		{"in location", "server { location / {\n ssl on;\n} }", `"ssl" directive is not allowed here in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http {\n"+tt.http+"\n}\n")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}
