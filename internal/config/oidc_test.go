package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestOIDCProvider checks an oidc_provider block's values and defaults, the
// default session store it makes, and auth_oidc's inheritance and off.
func TestOIDCProvider(t *testing.T) {
	cfg := mustLoad(t, `http {
        keyval_zone zone=sessions:1m;
        oidc_provider a {
            issuer https://idp.example/realms/x;
            client_id app;
        }
        oidc_provider b {
            issuer https://idp.example;
            client_id app2; client_secret s;
            config_url https://idp.example/conf;
            cookie_name sess; extra_auth_args "prompt=login";
            redirect_uri /cb; logout_uri /logout; post_logout_uri https://rp.example/bye;
            frontchannel_logout_uri /fc; logout_token_hint on; userinfo on; pkce off;
            scope openid email; session_store sessions; session_timeout 1h;
        }
        auth_oidc a;
        server {
            location /in/ { }
            location /b/ { auth_oidc b; }
            location /off/ { auth_oidc off; }
        }
    }`)
	h := cfg.HTTP
	a, b := h.OIDCProviders[0], h.OIDCProviders[1]
	wantA := &OIDCProvider{Name: "a", Issuer: "https://idp.example/realms/x", ClientID: "app",
		ConfigURL: "https://idp.example/realms/x/.well-known/openid-configuration", CookieName: "NGX_OIDC_SESSION",
		RedirectURI: "/oidc_callback", Scope: []string{"openid"}, SessionStore: "oidc_default_store_a",
		SessionTimeout: 8 * time.Hour, Pos: a.Pos}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("defaults:\n got %+v\nwant %+v", a, wantA)
	}
	wantB := &OIDCProvider{Name: "b", Issuer: "https://idp.example", ClientID: "app2", ClientSecret: "s",
		ConfigURL: "https://idp.example/conf", CookieName: "sess", ExtraAuthArgs: "prompt=login", RedirectURI: "/cb",
		LogoutURI: "/logout", PostLogoutURI: "https://rp.example/bye", FrontchannelLogoutURI: "/fc", LogoutTokenHint: true,
		Userinfo: true, PKCE: "off", Scope: []string{"openid", "email"}, SessionStore: "sessions", SessionTimeout: time.Hour, Pos: b.Pos}
	if !reflect.DeepEqual(b, wantB) {
		t.Errorf("set:\n got %+v\nwant %+v", b, wantB)
	}
	var stores []string
	for _, z := range h.KeyvalZones {
		stores = append(stores, z.Name)
	}
	if !reflect.DeepEqual(stores, []string{"sessions", "oidc_default_store_a"}) || h.KeyvalZones[1].Size != 8<<20 {
		t.Errorf("keyval zones %v", stores)
	}
	locs := h.Servers[0].Locations
	for i, want := range []string{"a", "b", ""} {
		if got := locs[i].Settings.AuthOIDC; got != want {
			t.Errorf("%s: auth_oidc %q, want %q", locs[i].Path, got, want)
		}
	}
}

// TestOIDCErrors checks the errors of oidc_provider blocks and auth_oidc.
func TestOIDCErrors(t *testing.T) {
	const ok = "issuer https://idp.example; client_id app;"
	tests := []struct{ name, src, want string }{
		{"no issuer", `oidc_provider p { client_id app; }`, `no "issuer" in oidc_provider "p"`},
		{"no client_id", `oidc_provider p { issuer https://idp.example; }`, `no "client_id" in oidc_provider "p"`},
		{"relative issuer", `oidc_provider p { issuer idp.example; client_id app; }`, `invalid URL "idp.example" in "issuer" directive`},
		{"no openid scope", `oidc_provider p { ` + ok + ` scope email; }`, `the "scope" directive lacks "openid"`},
		{"bad pkce", `oidc_provider p { ` + ok + ` pkce auto; }`, `invalid value "auto" in "pkce" directive`},
		{"bad redirect_uri", `oidc_provider p { ` + ok + ` redirect_uri cb; }`, `invalid URI "cb" in "redirect_uri" directive`},
		{"bad cookie", `oidc_provider p { ` + ok + ` cookie_name "a;b"; }`, `invalid cookie name "a;b"`},
		{"bad timeout", `oidc_provider p { ` + ok + ` session_timeout 1x; }`, `"session_timeout" directive invalid value`},
		{"duplicate", `oidc_provider p { ` + ok + ` } oidc_provider p { ` + ok + ` }`, `duplicate oidc_provider "p"`},
		{"duplicate directive", `oidc_provider p { ` + ok + ` client_id b; }`, `"client_id" directive is duplicate`},
		{"unknown store", `oidc_provider p { ` + ok + ` session_store s; }`, `session_store "s" of oidc_provider "p" is not a keyval_zone`},
		{"ip store", `keyval_zone zone=s:1m type=ip; oidc_provider p { ` + ok + ` session_store s; }`, `session_store "s" of oidc_provider "p" is a type=ip zone`},
		{"unknown provider", `server { location / { auth_oidc q; } }`, `oidc_provider "q" not found`},
		{"outside the block", `issuer https://idp.example;`, `"issuer" directive is not allowed here`},
		{"in a server", `server { oidc_provider p { ` + ok + ` } }`, `"oidc_provider" directive is not allowed here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { "+tt.src+" }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestOIDCPlainIssuer checks the warning for an http issuer, which fulcrum
// accepts and NGINX Plus does not.
func TestOIDCPlainIssuer(t *testing.T) {
	cfg := mustLoad(t, `http { oidc_provider p { issuer http://idp.internal; client_id app; } }`)
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Msg, `the issuer of oidc_provider "p" is not https`) {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
	if cfg := mustLoad(t, `http { oidc_provider p { issuer https://idp.example; client_id app; } }`); len(cfg.Warnings) != 0 {
		t.Fatalf("warnings %v for an https issuer", cfg.Warnings)
	}
}
