// Package oidc is a Relying Party of OpenID Connect's Authorization Code
// Flow, as NGINX Plus's ngx_http_oidc_module (1.27.4) is: it sends a
// client without a session to the OpenID Provider's authorization
// endpoint (with state, nonce and, when the provider supports S256, PKCE),
// takes the code the provider sends back to the redirect URI, exchanges
// it at the token endpoint, validates the ID token (signature with the
// provider's JSON Web Key Set, iss, aud, exp, iat, nonce) and keeps the
// tokens in a server-side session that a cookie names, refreshing them
// with the refresh token when they expire. It also answers RP-initiated
// logout and front-channel logout.
//
// The package knows nothing of fulcrum's request path: the daemon gives it
// a Request and writes the Outcome. Tokens are never put in an Outcome's
// Log.
package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/jwt"
	"fulcrum/internal/revocation"
)

// Config is one oidc_provider block.
type Config struct {
	Name                   string
	Issuer                 string
	ClientID, ClientSecret string
	// ConfigURL is where the metadata is (config_url, by default
	// <issuer>/.well-known/openid-configuration).
	ConfigURL     string
	CookieName    string
	ExtraAuthArgs string
	// RedirectURI, LogoutURI and FrontchannelLogoutURI are the paths the
	// provider answers itself; RedirectURI may be an absolute URL.
	RedirectURI, LogoutURI, FrontchannelLogoutURI string
	// PostLogoutURI is where the provider sends the user after logout:
	// absolute, or a path made absolute with the request's scheme and host.
	PostLogoutURI   string
	LogoutTokenHint bool
	Userinfo        bool
	// PKCE is "on", "off" or "" (on when the provider supports S256).
	PKCE           string
	Scope          []string
	SessionTimeout time.Duration
	// RootCAs verify the provider's certificates; nil means the system's.
	RootCAs *x509.CertPool
	// CRLs, when not empty, must not revoke a certificate of the chain.
	CRLs []*x509.RevocationList
	// LoginKey is the AES-256 key (32 bytes) that seals the login cookies
	// (LoginKeys.Key); nil makes a new one, which the next Provider of the
	// same name does not share.
	LoginKey []byte
}

// Store keeps sessions and logins in progress: a keyval zone. Its methods
// must be safe for concurrent use.
type Store interface {
	// Get returns key's value if it is there and has not expired.
	Get(key string) (string, bool)
	// Put sets key to value for ttl.
	Put(key, value string, ttl time.Duration) error
	// Delete removes key if it is there.
	Delete(key string)
}

// Errors the provider's exchanges end with, for logs and tests.
var (
	ErrMetadata = errors.New("provider metadata")
	ErrIDToken  = errors.New("invalid ID token")
	ErrToken    = errors.New("token endpoint")
)

// httpTimeout bounds each exchange with the provider (metadata, keys,
// token, userinfo).
const httpTimeout = 10 * time.Second

// metadataTTL is how long fetched metadata and keys are used before they
// are fetched again; keys are also fetched again when a token names a key
// the set lacks.
const metadataTTL = time.Hour

// maxBody bounds what fulcrum reads of a provider's answer.
const maxBody = 1 << 20

// Metadata is what fulcrum reads of the provider's metadata (OpenID
// Connect Discovery 1.0 section 3).
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

// Provider is a configured OpenID Provider with its fetched metadata and
// keys. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	store    Store
	client   *http.Client
	now      func() time.Time
	loginKey []byte // cfg.LoginKey, or one New made

	// fetching serializes the fetches of metadata and keys, so that the
	// requests that find none at start wait for one fetch instead of each
	// making its own; it is held across the fetch, mu never is.
	fetching sync.Mutex
	mu       sync.Mutex // guards the fields below; never held across a fetch
	meta     *Metadata
	metaAt   time.Time
	keys     *jwt.KeySet
	keysAt   time.Time
	// metaGen and keysGen count the fetches that ended, metaErr and
	// keysErr are the last one's error: a request that waited for
	// another's fetch takes its outcome, failure included, instead of
	// fetching again, so that requests arriving while the provider is
	// slow or down wait for one fetch, not for one each in turn.
	metaGen, keysGen uint64
	metaErr, keysErr error

	// flightsMu guards flights, the refreshes in progress by session id;
	// it is never held across a refresh.
	flightsMu sync.Mutex
	flights   map[string]*flight
}

// New returns the provider of cfg keeping its sessions in store. now is
// its clock; nil means time.Now.
func New(cfg Config, store Store, now func() time.Time) *Provider {
	if now == nil {
		now = time.Now
	}
	key := cfg.LoginKey
	if key == nil {
		key = newLoginKey()
	}
	return &Provider{cfg: cfg, store: store, client: newClient(cfg), now: now, loginKey: key}
}

// Config returns the provider's configuration.
func (p *Provider) Config() Config { return p.cfg }

// newClient is the HTTP client for the provider's endpoints: its own
// roots and CRLs, no redirects followed, a timeout per exchange.
func newClient(cfg Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // as nginx: no proxy from the environment
	t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if len(cfg.CRLs) > 0 {
		lists := revocation.New(cfg.CRLs)
		t.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				if code := lists.Check(chain, time.Now()); code != 0 {
					return fmt.Errorf("provider certificate: %s", revocation.Reason(code))
				}
			}
			return nil
		}
	}
	return &http.Client{Transport: t, Timeout: httpTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Metadata returns the provider's metadata, fetched when it is older than
// metadataTTL. It checks that the issuer matches and that the endpoints
// are https when the issuer is.
func (p *Provider) Metadata(ctx context.Context) (*Metadata, error) {
	p.mu.Lock()
	m, at, gen := p.meta, p.metaAt, p.metaGen
	p.mu.Unlock()
	if m != nil && p.now().Sub(at) < metadataTTL {
		return m, nil
	}
	p.fetching.Lock()
	defer p.fetching.Unlock()
	p.mu.Lock()
	m2, gen2, err := p.meta, p.metaGen, p.metaErr
	p.mu.Unlock()
	if gen2 != gen { // fetched while this request waited
		if err != nil {
			return nil, err
		}
		return m2, nil
	}
	m = new(Metadata)
	err = p.getJSON(ctx, p.cfg.ConfigURL, "", m)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrMetadata, err)
	} else {
		err = p.checkMetadata(m)
	}
	p.mu.Lock()
	p.metaGen, p.metaErr = p.metaGen+1, err
	if err == nil {
		p.meta, p.metaAt = m, p.now()
	}
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// checkMetadata checks fetched metadata: the issuer exactly as
// configured (Discovery section 4.3), the endpoints fulcrum needs, and
// https for each when the issuer is https.
func (p *Provider) checkMetadata(m *Metadata) error {
	if m.Issuer != p.cfg.Issuer {
		return fmt.Errorf(`%w: issuer "%s" does not match "%s"`, ErrMetadata, m.Issuer, p.cfg.Issuer)
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" {
		return fmt.Errorf("%w: authorization_endpoint, token_endpoint or jwks_uri missing", ErrMetadata)
	}
	if p.cfg.Userinfo && m.UserinfoEndpoint == "" {
		return fmt.Errorf("%w: userinfo on, but no userinfo_endpoint", ErrMetadata)
	}
	secure := strings.HasPrefix(p.cfg.Issuer, "https://")
	for _, e := range []string{m.AuthorizationEndpoint, m.TokenEndpoint, m.JWKSURI, m.UserinfoEndpoint, m.EndSessionEndpoint} {
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, "https://") && (secure || !strings.HasPrefix(e, "http://")) {
			return fmt.Errorf(`%w: endpoint "%s" is not https`, ErrMetadata, e)
		}
	}
	return nil
}

// keySet returns the provider's keys, fetched when older than metadataTTL
// or when fresh is set (a token named a key the cached set lacks).
func (p *Provider) keySet(ctx context.Context, m *Metadata, fresh bool) (*jwt.KeySet, error) {
	p.mu.Lock()
	ks, at, gen := p.keys, p.keysAt, p.keysGen
	p.mu.Unlock()
	if ks != nil && !fresh && p.now().Sub(at) < metadataTTL {
		return ks, nil
	}
	p.fetching.Lock()
	defer p.fetching.Unlock()
	p.mu.Lock()
	ks2, gen2, err := p.keys, p.keysGen, p.keysErr
	p.mu.Unlock()
	if gen2 != gen { // fetched while this request waited
		if err != nil {
			return nil, err
		}
		return ks2, nil
	}
	var raw json.RawMessage
	err = p.getJSON(ctx, m.JWKSURI, "", &raw)
	if err == nil {
		ks, err = jwt.ParseKeySet(raw)
	}
	if err != nil {
		err = fmt.Errorf("%w: jwks_uri: %v", ErrMetadata, err)
	}
	p.mu.Lock()
	p.keysGen, p.keysErr = p.keysGen+1, err
	if err == nil {
		p.keys, p.keysAt = ks, p.now()
	}
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return ks, nil
}

// getJSON GETs url (with the bearer token, if any) and decodes its 200
// answer into v.
func (p *Provider) getJSON(ctx context.Context, url, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return decode(resp.Body, v)
}

// decode reads a JSON answer of at most maxBody bytes into v.
func decode(r io.Reader, v any) error {
	d := json.NewDecoder(io.LimitReader(r, maxBody))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}
