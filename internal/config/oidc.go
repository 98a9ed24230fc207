package config

import (
	"crypto/x509"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OIDCProvider is an oidc_provider block (NGINX Plus's
// ngx_http_oidc_module, 1.27.4): an OpenID Provider that auth_oidc names.
// The provider's metadata is fetched when a request first needs it, not
// here, as NGINX Plus does (its module "expects the OpenID Provider's
// configuration to be available via metadata").
type OIDCProvider struct {
	Name string
	// Issuer is issuer: the Issuer Identifier, which must match the
	// metadata's "issuer" exactly. https, or http for a provider on a
	// trusted network (fulcrum's extension, see docs/directives.md).
	Issuer string
	// ClientID and ClientSecret are client_id and client_secret; an empty
	// secret makes fulcrum a public client (PKCE, "none").
	ClientID, ClientSecret string
	// ConfigURL is config_url; by default <issuer>/.well-known/openid-configuration.
	ConfigURL string
	// CookieName is cookie_name; by default NGX_OIDC_SESSION.
	CookieName string
	// ExtraAuthArgs is extra_auth_args, added to the authentication
	// request's query as it is written.
	ExtraAuthArgs string
	// RedirectURI is redirect_uri (default /oidc_callback); LogoutURI,
	// PostLogoutURI and FrontchannelLogoutURI are logout_uri,
	// post_logout_uri and frontchannel_logout_uri, empty when not set.
	RedirectURI, LogoutURI, PostLogoutURI, FrontchannelLogoutURI string
	// LogoutTokenHint is logout_token_hint: the ID token goes to the end
	// session endpoint as id_token_hint.
	LogoutTokenHint bool
	// PKCE is pkce: "on", "off", or "" for automatic (on when the
	// metadata's code_challenge_methods_supported has S256).
	PKCE string
	// Scope is scope's scopes (default openid).
	Scope []string
	// SessionStore is the keyval_zone that holds the sessions: session_store's,
	// or the one made for the provider, oidc_default_store_<name> (8m).
	SessionStore string
	// SessionTimeout is session_timeout (default 8h).
	SessionTimeout time.Duration
	// TrustedCertificate (ssl_trusted_certificate) and CRL (ssl_crl) are
	// the files that verify the provider's certificates; nil
	// TrustedCAs means the system's roots.
	TrustedCertificate, CRL string
	TrustedCAs              []*x509.Certificate
	CRLs                    []*x509.RevocationList
	// Userinfo is userinfo: the userinfo endpoint's claims are fetched at
	// login and fill the $oidc_claim_ variables the ID token lacks.
	Userinfo bool
	Pos      Pos
}

// oidcDefaultStoreSize is the size of the key-value database NGINX Plus
// makes for a provider without session_store: "By default, an
// 8-megabyte key-value database named oidc_default_store_<provider name>
// is created automatically."
const oidcDefaultStoreSize = 8 << 20

// oidcProviders reads the oidc_provider blocks, after the keyval zones
// (session_store names one) and before the servers (auth_oidc names a
// provider).
func (b *builder) oidcProviders(h *HTTP, http *scope) error {
	for _, d := range http.own("oidc_provider") {
		p, err := b.oidcProvider(d)
		if err != nil {
			return err
		}
		for _, q := range h.OIDCProviders {
			if q.Name == p.Name {
				return hintf(d.Pos, "oidc_provider "+q.Pos.String()+" has that name; give each provider its own", `duplicate oidc_provider "%s"`, p.Name)
			}
		}
		if err := b.oidcStore(h, p); err != nil {
			return err
		}
		h.OIDCProviders = append(h.OIDCProviders, p)
	}
	return nil
}

// oidcProvider reads one oidc_provider block.
func (b *builder) oidcProvider(d *Directive) (*OIDCProvider, error) {
	p := &OIDCProvider{Name: d.Args[0], CookieName: "NGX_OIDC_SESSION", RedirectURI: "/oidc_callback",
		Scope: []string{"openid"}, SessionTimeout: 8 * time.Hour, Pos: d.Pos}
	for _, line := range d.Block {
		if err := b.oidcLine(p, line); err != nil {
			return nil, err
		}
	}
	if p.Issuer == "" {
		return nil, hintf(d.Pos, `add issuer "https://provider.example"; to the block`, `no "issuer" in oidc_provider "%s"`, p.Name)
	}
	if p.ClientID == "" {
		return nil, hintf(d.Pos, `add client_id with the client ID the provider registered`, `no "client_id" in oidc_provider "%s"`, p.Name)
	}
	if p.ConfigURL == "" {
		p.ConfigURL = strings.TrimSuffix(p.Issuer, "/") + "/.well-known/openid-configuration"
	}
	if strings.HasPrefix(p.Issuer, "http://") {
		b.warn(p.Pos, "use an https issuer unless the provider is on a network you trust",
			`the issuer of oidc_provider "%s" is not https (NGINX Plus requires it): codes, tokens and the client secret cross the network in clear`, p.Name)
	}
	return p, nil
}

// oidcLine reads one directive of an oidc_provider block (the table
// checked its arguments).
func (b *builder) oidcLine(p *OIDCProvider, d *Directive) error {
	arg := d.Args[0]
	var err error
	switch d.Name {
	case "issuer":
		p.Issuer, err = oidcURL(d, false)
	case "config_url":
		p.ConfigURL, err = oidcURL(d, false)
	case "post_logout_uri":
		p.PostLogoutURI, err = oidcURL(d, true)
	case "client_id":
		p.ClientID = arg
	case "client_secret":
		p.ClientSecret = arg
	case "cookie_name":
		err = checkCookieName(d)
		p.CookieName = arg
	case "extra_auth_args":
		p.ExtraAuthArgs = strings.TrimPrefix(arg, "&")
	case "redirect_uri":
		p.RedirectURI, err = oidcPath(d, true)
	case "logout_uri":
		p.LogoutURI, err = oidcPath(d, false)
	case "frontchannel_logout_uri":
		p.FrontchannelLogoutURI, err = oidcPath(d, false)
	case "logout_token_hint":
		p.LogoutTokenHint = strings.EqualFold(arg, "on")
	case "userinfo":
		p.Userinfo = strings.EqualFold(arg, "on")
	case "pkce":
		p.PKCE = strings.ToLower(arg)
	case "scope":
		if !slices.Contains(d.Args, "openid") {
			return hintf(d.Pos, "add openid to the scopes, as in scope openid email profile;", `the "scope" directive lacks "openid", which OpenID Connect always requires`)
		}
		p.Scope = d.Args
	case "session_store":
		p.SessionStore = arg
	case "session_timeout":
		p.SessionTimeout, err = parseTime(arg, true) // the table's kindSec checked it
	case "ssl_trusted_certificate":
		p.TrustedCertificate, p.TrustedCAs, err = b.loadCAs(d)
	case "ssl_crl":
		p.CRL, p.CRLs, err = b.loadCRL(d)
	}
	return err
}

// oidcURL reads an absolute http or https URL (issuer, config_url,
// post_logout_uri); a relative one is allowed when relative is true
// (post_logout_uri: made absolute against the request's scheme and host).
func oidcURL(d *Directive, relative bool) (string, error) {
	u, err := url.Parse(d.Args[0])
	if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil {
		return d.Args[0], nil
	}
	if relative && err == nil && strings.HasPrefix(d.Args[0], "/") && !strings.HasPrefix(d.Args[0], "//") {
		return d.Args[0], nil
	}
	return "", hintf(d.Pos, `write an absolute URL such as "https://provider.example/realms/demo"`, `invalid URL "%s" in "%s" directive`, d.Args[0], d.Name)
}

// oidcPath reads a path the module answers itself (redirect_uri,
// logout_uri, frontchannel_logout_uri). redirect_uri may also be an
// absolute URL, whose path is then the callback's.
func oidcPath(d *Directive, absolute bool) (string, error) {
	s := d.Args[0]
	if absolute && !strings.HasPrefix(s, "/") {
		if _, err := oidcURL(d, false); err == nil {
			return s, nil
		}
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "?# ") {
		return "", hintf(d.Pos, "write a path such as /oidc_callback, which a location with auth_oidc serves", `invalid URI "%s" in "%s" directive`, s, d.Name)
	}
	return s, nil
}

// checkCookieName refuses a cookie name with characters RFC 6265 does not
// allow in a token.
func checkCookieName(d *Directive) error {
	for _, c := range []byte(d.Args[0]) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return hintf(d.Pos, "use letters, digits, - and _", `invalid cookie name "%s"`, d.Args[0])
		}
	}
	return nil
}

// oidcStore checks p's session_store, or makes its default store: a
// keyval zone named oidc_default_store_<name>, which the API shows as
// NGINX Plus's does.
func (b *builder) oidcStore(h *HTTP, p *OIDCProvider) error {
	if p.SessionStore != "" {
		for _, z := range h.KeyvalZones {
			if z.Name == p.SessionStore {
				if z.Type != "string" {
					return hintf(p.Pos, "name a keyval_zone without type=, which keeps exact keys", `session_store "%s" of oidc_provider "%s" is a type=%s zone`, z.Name, p.Name, z.Type)
				}
				return nil
			}
		}
		return hintf(p.Pos, "define it with keyval_zone zone="+p.SessionStore+":8m; in the http block", `session_store "%s" of oidc_provider "%s" is not a keyval_zone`, p.SessionStore, p.Name)
	}
	p.SessionStore = "oidc_default_store_" + p.Name
	for _, z := range h.KeyvalZones {
		if z.Name == p.SessionStore {
			return hintf(z.Pos, "rename the keyval_zone, or name it in the provider's session_store", `keyval_zone "%s" has the name of oidc_provider "%s"'s default session store`, z.Name, p.Name)
		}
	}
	h.KeyvalZones = append(h.KeyvalZones, &KeyvalZone{Name: p.SessionStore, Size: oidcDefaultStoreSize, Type: "string", Pos: p.Pos})
	return nil
}

// applyAuthOIDC sets AuthOIDC from the nearest auth_oidc: the provider's
// name, or "" for off.
func applyAuthOIDC(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	if d.Args[0] == "off" {
		st.AuthOIDC = ""
		return nil
	}
	if b.cfg.HTTP != nil {
		for _, p := range b.cfg.HTTP.OIDCProviders {
			if p.Name == d.Args[0] {
				st.AuthOIDC = p.Name
				return nil
			}
		}
	}
	return hintf(d.Pos, "define it with oidc_provider "+d.Args[0]+" { issuer ...; client_id ...; } in the http block", `oidc_provider "%s" not found`, d.Args[0])
}
