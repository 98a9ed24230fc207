package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestOIDCWarnings checks the static check of the paths auth_oidc answers
// itself: each warning names the path and where it is served; a provider
// whose paths are covered gives none.
func TestOIDCWarnings(t *testing.T) {
	const provider = `oidc_provider idp { issuer https://idp.example; client_id app; %s }
oidc_provider other { issuer https://other.example; client_id app; }
`
	tests := []struct {
		name, provider, servers string
		want                    []string // substrings, one per warning, in order
	}{
		{name: "location / covers the callback", servers: `server { listen 127.0.0.1:0; location / { auth_oidc idp; } }`},
		{name: "server level covers the callback", servers: `server { listen 127.0.0.1:0; auth_oidc idp; location /app/ { } }`},
		{name: "a server without the provider is not checked", servers: `server { listen 127.0.0.1:0; location / { return 200; } }`},
		{name: "callback outside the protected location", servers: `server { listen 127.0.0.1:0; location /app/ { auth_oidc idp; } }`,
			want: []string{`redirect_uri "/oidc_callback" of oidc_provider "idp" is served without "auth_oidc idp" by no location of the server at`}},
		{name: "callback with auth_oidc off", servers: `server { listen 127.0.0.1:0; location / { auth_oidc idp; } location = /oidc_callback { auth_oidc off; } }`,
			want: []string{`redirect_uri "/oidc_callback" of oidc_provider "idp" is served without "auth_oidc idp" by location "= /oidc_callback" (`}},
		{name: "absolute redirect_uri", provider: `redirect_uri https://rp.example/cb;`,
			servers: `server { listen 127.0.0.1:0; location /app/ { auth_oidc idp; } location /cb { auth_oidc other; } }`,
			want: []string{`redirect_uri "/cb" of oidc_provider "idp" is served without "auth_oidc idp" by location "/cb"`,
				`redirect_uri "/oidc_callback" of oidc_provider "other" is served without "auth_oidc other" by no location`}},
		{name: "logout and front-channel logout uncovered", provider: `logout_uri /logout; frontchannel_logout_uri /fc;`,
			servers: `server { listen 127.0.0.1:0; location /oidc_callback { auth_oidc idp; } location /app { auth_oidc idp; } }`,
			want:    []string{`logout_uri "/logout"`, `frontchannel_logout_uri "/fc"`}},
		{name: "regex location decides", provider: `logout_uri /logout;`,
			servers: `server { listen 127.0.0.1:0; location / { auth_oidc idp; } location ~ ^/log { return 200; } }`,
			want:    []string{`logout_uri "/logout" of oidc_provider "idp" is served without "auth_oidc idp" by location "~ ^/log"`}},
		{name: "post-logout page behind the module", provider: `post_logout_uri /bye;`,
			servers: `server { listen 127.0.0.1:0; location / { auth_oidc idp; } }`,
			want:    []string{`post_logout_uri "/bye" of oidc_provider "idp" is served with "auth_oidc idp" by location "/" (`}},
		{name: "post-logout page outside the module", provider: `post_logout_uri /bye;`,
			servers: `server { listen 127.0.0.1:0; auth_oidc idp; location /bye { auth_oidc off; } }`},
		{name: "each server that uses the provider",
			servers: `server { listen 127.0.0.1:0; location / { auth_oidc idp; } } server { listen 127.0.0.2:0; location /x/ { auth_oidc idp; } }`,
			want:    []string{`redirect_uri "/oidc_callback"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			text := "pid " + dir + "/fulcrum.pid;\nerror_log " + dir + "/error.log;\nhttp {\n" +
				strings.Replace(provider, "%s", tt.provider, 1) + tt.servers + "\n}\n"
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")})
			if err != nil {
				t.Fatal(err)
			}
			if err := daemon.Check(cfg); err != nil {
				t.Fatal(err)
			}
			got := daemon.OIDCWarnings(cfg)
			if len(got) != len(tt.want) {
				t.Fatalf("%d warnings, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range got {
				if !strings.Contains(w.String(), tt.want[i]) || !strings.Contains(w.String(), "fulcrum.conf:") {
					t.Errorf("warning %d: %q, want %q", i, w.String(), tt.want[i])
				}
			}
		})
	}
}
