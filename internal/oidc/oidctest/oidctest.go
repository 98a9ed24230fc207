// Package oidctest is a small OpenID Provider for tests: discovery, a JSON
// Web Key Set with a generated RSA key, an authorization endpoint that
// sends the browser straight back with a code, a token endpoint that
// checks the code, the PKCE verifier and the client's secret and answers
// a signed ID token and a refresh token, a refresh_token grant that
// rotates refresh tokens (each is taken once), a userinfo endpoint and an
// end session endpoint.
package oidctest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	cryptotls "crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client is the client the provider knows.
const (
	ClientID     = "fulcrum-client"
	ClientSecret = "s3cret"
	Subject      = "alice"
)

// Provider is a running test provider.
type Provider struct {
	*httptest.Server
	// Issuer is the provider's issuer (its URL).
	Issuer string
	key    *rsa.PrivateKey

	mu sync.Mutex // guards everything below
	// Mutate, when set, changes the claims of the next ID tokens.
	Mutate func(claims map[string]any)
	// Methods are token_endpoint_auth_methods_supported; PKCE lists S256
	// in code_challenge_methods_supported.
	Methods []string
	PKCE    bool
	// NoEndSession leaves end_session_endpoint out of the metadata.
	NoEndSession bool
	// BadSignature makes the ID tokens' signatures not verify; HS256
	// signs them with HMAC and the client secret instead of the RSA key.
	BadSignature, HS256 bool
	// UserinfoSub, when set, is the userinfo answer's sub; UserinfoAny,
	// when set, is (any JSON value, or nil to leave sub out).
	UserinfoSub string
	UserinfoAny func() any
	// Discoveries counts the metadata requests.
	Discoveries int
	// Authorize is the query of the last authorization request.
	Authorize url.Values
	// TokenForm and TokenAuth are the last token request's form and
	// Authorization header.
	TokenForm url.Values
	TokenAuth string
	// NoRefresh gives no refresh tokens. Refreshes counts the
	// refresh_token grants asked for. RefreshHook, when set, runs before
	// each is answered, without the lock. RefreshError, when set, refuses
	// them with that error (400). RefreshMutate changes the claims of
	// refreshed ID tokens; RefreshAnswer the refresh answer itself.
	NoRefresh     bool
	Refreshes     int
	RefreshHook   func()
	RefreshError  string
	RefreshMutate func(claims map[string]any)
	RefreshAnswer func(answer map[string]any)
	codes         map[string]url.Values // unused codes, with their authorization request
	refresh       map[string]url.Values // live refresh tokens, with their authorization request
	access        string
}

// signingKey is the providers' RSA key, made once: generating one per
// test would cost more than the tests.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// New starts a provider, plain http or, with tls, https (its
// certificate is Server.Certificate()).
func New(t testing.TB, tls bool) *Provider {
	t.Helper()
	if tls {
		return NewTLS(t, nil)
	}
	return start(t, nil)
}

// NewTLS starts an https provider with cert as its certificate (nil:
// httptest's own).
func NewTLS(t testing.TB, cert *cryptotls.Certificate) *Provider {
	t.Helper()
	cfg := &cryptotls.Config{}
	if cert != nil {
		cfg.Certificates = []cryptotls.Certificate{*cert}
	}
	return start(t, cfg)
}

// start starts a provider, over TLS with tlsCfg when it is not nil.
func start(t testing.TB, tlsCfg *cryptotls.Config) *Provider {
	t.Helper()
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{key: key, PKCE: true, codes: map[string]url.Values{}, refresh: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("/jwks", p.jwks)
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/userinfo", p.userinfo)
	p.Server = httptest.NewUnstartedServer(mux)
	if tlsCfg != nil {
		p.Server.TLS = tlsCfg
		p.StartTLS()
	} else {
		p.Start()
	}
	p.Issuer = p.URL
	t.Cleanup(p.Close)
	return p
}

// Set changes the provider's settings under its lock.
func (p *Provider) Set(f func(p *Provider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// Last returns the last authorization request's query and token
// request's form and Authorization header.
func (p *Provider) Last() (authorize, form url.Values, auth string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Authorize, p.TokenForm, p.TokenAuth
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.Discoveries++
	m := map[string]any{"issuer": p.Issuer, "authorization_endpoint": p.URL + "/authorize",
		"token_endpoint": p.URL + "/token", "jwks_uri": p.URL + "/jwks", "userinfo_endpoint": p.URL + "/userinfo",
		"response_types_supported": []string{"code"}}
	if !p.NoEndSession {
		m["end_session_endpoint"] = p.URL + "/logout"
	}
	if p.PKCE {
		m["code_challenge_methods_supported"] = []string{"S256"}
	}
	if p.Methods != nil {
		m["token_endpoint_auth_methods_supported"] = p.Methods
	}
	p.mu.Unlock()
	writeJSON(w, m)
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}}})
}

// authorize sends the browser back to redirect_uri with a new code and
// the state, as a provider does once the user logged in.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	code := b64([]byte(fmt.Sprint(time.Now().UnixNano())))
	p.mu.Lock()
	p.Authorize = q
	p.codes[code] = q
	p.mu.Unlock()
	back := q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back, http.StatusFound)
}

// token exchanges a code once: the client's credentials (Basic or in the
// form), the redirect_uri and the PKCE verifier must fit. A
// refresh_token grant goes to refreshGrant.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		p.refreshGrant(w, r)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.TokenForm, p.TokenAuth = r.PostForm, r.Header.Get("Authorization")
	code := r.PostForm.Get("code")
	auth, ok := p.codes[code]
	delete(p.codes, code)
	switch {
	case !clientOK(r):
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	case !ok || auth.Get("redirect_uri") != r.PostForm.Get("redirect_uri"):
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	case auth.Get("code_challenge") != "" && auth.Get("code_challenge") != challenge(r.PostForm.Get("code_verifier")):
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	claims := p.claims(auth)
	claims["nonce"] = auth.Get("nonce")
	if p.Mutate != nil {
		p.Mutate(claims)
	}
	answer := p.answer(claims, auth)
	writeJSON(w, answer)
}

// clientOK reports whether the request carries the client's credentials,
// Basic or in the form.
func clientOK(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == ClientID && secret == ClientSecret
}

// claims are the claims of an ID token for the login auth started,
// without nonce.
func (p *Provider) claims(auth url.Values) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": p.Issuer, "sub": Subject, "aud": ClientID, "exp": now + 300, "iat": now,
		"sid": "sid-" + auth.Get("state")[:8], "email": "alice@example.com"}
}

// answer signs claims and returns the token answer: a new access token
// and, unless NoRefresh, a new refresh token for auth's login. The caller
// holds the lock.
func (p *Provider) answer(claims map[string]any, auth url.Values) map[string]any {
	p.access = "at-" + random()
	tok := p.sign(claims)
	switch {
	case p.BadSignature:
		tok = tok[:len(tok)-4] + "AAAA"
	case p.HS256:
		tok = signHS256(claims)
	}
	answer := map[string]any{"access_token": p.access, "token_type": "Bearer", "id_token": tok, "expires_in": 300}
	if !p.NoRefresh {
		rt := "rt-" + random()
		p.refresh[rt] = auth
		answer["refresh_token"] = rt
	}
	return answer
}

// refreshGrant answers a refresh_token grant: the token is taken once
// (rotation) and a new one comes with the new tokens.
func (p *Provider) refreshGrant(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.Refreshes++
	hook := p.RefreshHook
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rt := r.PostForm.Get("refresh_token")
	auth, ok := p.refresh[rt]
	delete(p.refresh, rt)
	switch {
	case !clientOK(r):
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	case p.RefreshError != "":
		tokenError(w, http.StatusBadRequest, p.RefreshError)
		return
	}
	claims := p.claims(auth)
	if p.RefreshMutate != nil {
		p.RefreshMutate(claims)
	}
	answer := p.answer(claims, auth)
	if p.RefreshAnswer != nil {
		p.RefreshAnswer(answer)
	}
	writeJSON(w, answer)
}

// random returns 12 random bytes, base64url.
func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return b64(b)
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	ok := r.Header.Get("Authorization") == "Bearer "+p.access
	sub, subAny := p.UserinfoSub, p.UserinfoAny
	p.mu.Unlock()
	if sub == "" {
		sub = Subject
	}
	if !ok {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	answer := map[string]any{"sub": sub, "name": "Alice Liddell", "email": "other@example.com"}
	if subAny != nil {
		answer["sub"] = subAny()
		if answer["sub"] == nil {
			delete(answer, "sub")
		}
	}
	writeJSON(w, answer)
}

// sign makes an RS256 token of claims with the provider's key.
func (p *Provider) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + b64(sig)
}

// Sign exposes sign for tests of the validation alone.
func (p *Provider) Sign(claims map[string]any) string { return p.sign(claims) }

// signHS256 signs claims with HMAC-SHA256 and the client secret.
func signHS256(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	m := hmac.New(sha256.New, []byte(ClientSecret))
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64(sum[:])
}

func tokenError(w http.ResponseWriter, code int, e string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// HasPrefix reports whether loc starts with the provider's URL and path.
func (p *Provider) HasPrefix(loc, path string) bool { return strings.HasPrefix(loc, p.URL+path) }
