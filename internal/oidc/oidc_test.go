package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/oidc"
	"fulcrum/internal/oidc/oidctest"
)

// memStore is a Store in a map, on the test's clock.
type memStore struct {
	mu  sync.Mutex // guards m
	m   map[string]memEntry
	now func() time.Time
	// forever keeps the entries past their time, as a store that does
	// not expire them would.
	forever bool
}

type memEntry struct {
	v   string
	exp time.Time
}

func (s *memStore) Get(k string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	if !ok || !s.forever && !s.now().Before(e.exp) {
		return "", false
	}
	return e.v, true
}

func (s *memStore) Put(k, v string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = memEntry{v, s.now().Add(ttl)}
	return nil
}

func (s *memStore) Delete(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// rig is a provider under test with its test OP and clock.
type rig struct {
	t     *testing.T
	op    *oidctest.Provider
	p     *oidc.Provider
	clock time.Time
	cfg   oidc.Config
	store *memStore
}

func newRig(t *testing.T, edit func(c *oidc.Config), op *oidctest.Provider) *rig {
	if op == nil {
		op = oidctest.New(t, false)
	}
	rg := &rig{t: t, op: op, clock: time.Now()}
	c := oidc.Config{Name: "idp", Issuer: op.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		ConfigURL: op.Issuer + "/.well-known/openid-configuration", CookieName: "NGX_OIDC_SESSION",
		RedirectURI: "/oidc_callback", Scope: []string{"openid"}, SessionTimeout: time.Hour,
		LoginKey: oidc.NewLoginKeys().Key("idp")}
	if edit != nil {
		edit(&c)
	}
	now := func() time.Time { return rg.clock }
	rg.cfg, rg.store = c, &memStore{m: map[string]memEntry{}, now: now}
	rg.p = oidc.New(c, rg.store, now)
	return rg
}

// cookieOf returns the value of the cookie name an outcome sets.
func cookieOf(t *testing.T, o oidc.Outcome, name string) string {
	t.Helper()
	for _, c := range o.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(c, name+"="); ok {
			return v[:strings.IndexByte(v, ';')]
		}
	}
	t.Fatalf("no cookie in %v", o.Header)
	return ""
}

// start asks for uri without a session: the 302 to the provider. It
// follows it to the provider and returns the callback's query and the
// login cookie.
func (rg *rig) start(uri string) (query, cookie string) {
	t := rg.t
	t.Helper()
	o := rg.p.Handle(context.Background(), oidc.Request{Path: strings.SplitN(uri, "?", 2)[0], RequestURI: uri, Host: "rp.test"})
	if o.Status != http.StatusFound || !rg.op.HasPrefix(o.Header.Get("Location"), "/authorize?") {
		t.Fatalf("login: %d %v (%s)", o.Status, o.Header, o.Log)
	}
	cookie = cookieOf(t, o, "NGX_OIDC_SESSION_login")
	c := &http.Client{Transport: rg.op.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(o.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Path != "/oidc_callback" || back.Host != "rp.test" {
		t.Fatalf("provider sent the browser to %q", resp.Header.Get("Location"))
	}
	return back.RawQuery, cookie
}

// callback hands the provider's answer to the RP.
func (rg *rig) callback(query, cookie string) oidc.Outcome {
	return rg.p.Handle(context.Background(), oidc.Request{Path: "/oidc_callback", RequestURI: "/oidc_callback?" + query,
		Query: query, Host: "rp.test", LoginCookie: cookie})
}

// login runs the whole flow for uri and returns the session cookie.
func (rg *rig) login(uri string) string {
	rg.t.Helper()
	q, c := rg.start(uri)
	o := rg.callback(q, c)
	if o.Status != http.StatusFound || o.Header.Get("Location") != uri {
		rg.t.Fatalf("callback: %d %v (%s)", o.Status, o.Header, o.Log)
	}
	if !strings.Contains(strings.Join(o.Header.Values("Set-Cookie"), "\n"), "NGX_OIDC_SESSION_login=; Path=/oidc_callback; HttpOnly; SameSite=Lax; Max-Age=0") {
		rg.t.Errorf("the login cookie is not cleared: %v", o.Header)
	}
	return cookieOf(rg.t, o, "NGX_OIDC_SESSION")
}

func (rg *rig) get(path, cookie string) oidc.Outcome {
	return rg.p.Handle(context.Background(), oidc.Request{Path: path, RequestURI: path, Host: "rp.test", Cookie: cookie})
}

func TestLoginFlow(t *testing.T) {
	rg := newRig(t, nil, nil)
	sid := rg.login("/app?x=1")
	o := rg.get("/app", sid)
	if o.Session == nil {
		t.Fatalf("no session: %d %s", o.Status, o.Log)
	}
	if v, _ := o.Session.Claim("sub"); v != oidctest.Subject {
		t.Errorf("sub = %q", v)
	}
	if o.Session.IDToken == "" || !strings.HasPrefix(o.Session.AccessToken, "at-") {
		t.Errorf("tokens: %q %q", o.Session.IDToken, o.Session.AccessToken)
	}
	auth, form, basic := rg.op.Last()
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(auth.Get(k)) < 43 {
			t.Errorf("authorization request %s = %q", k, auth.Get(k))
		}
	}
	if auth.Get("code_challenge_method") != "S256" || auth.Get("scope") != "openid" || auth.Get("redirect_uri") != "http://rp.test/oidc_callback" {
		t.Errorf("authorization request: %v", auth)
	}
	if form.Get("code_verifier") == "" || form.Get("client_secret") != "" || !strings.HasPrefix(basic, "Basic ") {
		t.Errorf("token request: %v %q", form, basic)
	}
}

// TestCookieSecure checks the cookie's attributes: Secure only for a
// request that came over TLS.
func TestCookieSecure(t *testing.T) {
	rg := newRig(t, nil, nil)
	for _, tls := range []bool{false, true} {
		o := rg.p.Handle(context.Background(), oidc.Request{Path: "/", RequestURI: "/", Host: "rp.test", TLS: tls})
		c := o.Header.Get("Set-Cookie")
		if !strings.HasPrefix(c, "NGX_OIDC_SESSION_login=") || !strings.Contains(c, "; Path=/oidc_callback;") || !strings.Contains(c, "; HttpOnly") || !strings.Contains(c, "; SameSite=Lax") || strings.Contains(c, "; Secure") != tls {
			t.Errorf("TLS %v: cookie %q", tls, c)
		}
		if auth, _ := url.Parse(o.Header.Get("Location")); tls && !strings.HasPrefix(auth.Query().Get("redirect_uri"), "https://rp.test/") {
			t.Errorf("TLS: redirect_uri %q", auth.Query().Get("redirect_uri"))
		}
		q, c := rg.start("/")
		o = rg.p.Handle(context.Background(), oidc.Request{Path: "/oidc_callback", Query: q, Host: "rp.test", TLS: tls, LoginCookie: c})
		if s := o.Header.Get("Set-Cookie"); !strings.HasPrefix(s, "NGX_OIDC_SESSION=") || strings.Contains(s, "; Secure") != tls {
			t.Errorf("TLS %v: session cookie %q", tls, s)
		}
	}
}

func TestLoginOptions(t *testing.T) {
	t.Run("no S256: no PKCE", func(t *testing.T) {
		op := oidctest.New(t, false)
		op.Set(func(p *oidctest.Provider) { p.PKCE = false })
		rg := newRig(t, nil, op)
		rg.login("/")
		if auth, form, _ := op.Last(); auth.Has("code_challenge") || form.Has("code_verifier") {
			t.Errorf("PKCE used: %v %v", auth, form)
		}
	})
	t.Run("pkce off", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.PKCE = "off" }, nil)
		rg.login("/")
		if auth, _, _ := rg.op.Last(); auth.Has("code_challenge") {
			t.Errorf("PKCE used: %v", auth)
		}
	})
	t.Run("client_secret_post", func(t *testing.T) {
		op := oidctest.New(t, false)
		op.Set(func(p *oidctest.Provider) { p.Methods = []string{"client_secret_post"} })
		rg := newRig(t, nil, op)
		rg.login("/")
		if _, form, basic := op.Last(); basic != "" || form.Get("client_secret") != oidctest.ClientSecret {
			t.Errorf("token request: %v %q", form, basic)
		}
	})
	t.Run("extra_auth_args and scope", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.ExtraAuthArgs = "prompt=login"; c.Scope = []string{"openid", "email"} }, nil)
		rg.login("/")
		if auth, _, _ := rg.op.Last(); auth.Get("prompt") != "login" || auth.Get("scope") != "openid email" {
			t.Errorf("authorization request: %v", auth)
		}
	})
	t.Run("userinfo", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.Userinfo = true }, nil)
		o := rg.get("/", rg.login("/"))
		name, _ := o.Session.Claim("name")
		email, _ := o.Session.Claim("email")
		if name != "Alice Liddell" || email != "alice@example.com" {
			t.Errorf("claims: name %q email %q", name, email)
		}
	})
	t.Run("userinfo of another user", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.Userinfo = true }, nil)
		rg.op.Set(func(p *oidctest.Provider) { p.UserinfoSub = "mallory" })
		q, c := rg.start("/")
		if o := rg.callback(q, c); o.Status != http.StatusUnauthorized {
			t.Fatalf("callback: %d (%s)", o.Status, o.Log)
		}
	})
	// Core section 5.3.2: the userinfo sub must be the ID token's, a
	// string; sub missing from both, or the same object in both, is not a
	// match (comparing two objects used to panic).
	for _, tc := range []struct {
		name string
		sub  func() any
	}{
		{"userinfo and ID token without sub", func() any { return nil }},
		{"userinfo and ID token with an object sub", func() any { return map[string]any{"id": "alice"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, func(c *oidc.Config) { c.Userinfo = true }, nil)
			rg.op.Set(func(p *oidctest.Provider) {
				p.UserinfoAny = tc.sub
				p.Mutate = func(c map[string]any) {
					if v := tc.sub(); v != nil {
						c["sub"] = v
					} else {
						delete(c, "sub")
					}
				}
			})
			q, c := rg.start("/")
			if o := rg.callback(q, c); o.Status != http.StatusUnauthorized {
				t.Fatalf("callback: %d (%s)", o.Status, o.Log)
			}
		})
	}
	t.Run("https provider", func(t *testing.T) {
		op := oidctest.New(t, true)
		pool := x509.NewCertPool()
		pool.AddCert(op.Certificate())
		newRig(t, func(c *oidc.Config) { c.RootCAs = pool }, op).login("/")
	})
}

func TestCallbackRefused(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(map[string]any)
		op     func(p *oidctest.Provider)
		edit   func(q url.Values, cookie *string)
		status int
	}{
		{name: "bad signature", op: func(p *oidctest.Provider) { p.BadSignature = true }, status: 401},
		{name: "HS256 with the client secret", op: func(p *oidctest.Provider) { p.HS256 = true }, status: 401},
		{name: "bad state", edit: func(q url.Values, _ *string) { q.Set("state", flip(q.Get("state"))) }, status: 401},
		{name: "no state", edit: func(q url.Values, _ *string) { q.Del("state") }, status: 401},
		{name: "no login cookie", edit: func(_ url.Values, c *string) { *c = "" }, status: 401},
		{name: "forged login cookie", edit: func(_ url.Values, c *string) { *c = flip(*c) }, status: 401},
		{name: "provider error", edit: func(q url.Values, _ *string) { q.Set("error", "access_denied") }, status: 401},
		{name: "wrong code", edit: func(q url.Values, _ *string) { q.Set("code", "nope") }, status: 401},
		{name: "wrong nonce", mutate: func(c map[string]any) { c["nonce"] = "other" }, status: 401},
		{name: "expired", mutate: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, status: 401},
		{name: "wrong audience", mutate: func(c map[string]any) { c["aud"] = "someone-else" }, status: 401},
		{name: "wrong issuer", mutate: func(c map[string]any) { c["iss"] = "https://evil.example" }, status: 401},
		{name: "no iat", mutate: func(c map[string]any) { delete(c, "iat") }, status: 401},
		{name: "azp of another", mutate: func(c map[string]any) { c["aud"] = []string{oidctest.ClientID, "x"}; c["azp"] = "x" }, status: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, nil, nil)
			rg.op.Set(func(p *oidctest.Provider) {
				p.Mutate = tc.mutate
				if tc.op != nil {
					tc.op(p)
				}
			})
			query, cookie := rg.start("/")
			q, _ := url.ParseQuery(query)
			if tc.edit != nil {
				tc.edit(q, &cookie)
			}
			o := rg.callback(q.Encode(), cookie)
			if o.Status != tc.status || o.Session != nil || o.Header.Get("Set-Cookie") != "" {
				t.Fatalf("callback: %d %v (%s), want %d", o.Status, o.Header, o.Log, tc.status)
			}
		})
	}
}

// flip changes the first character of s (base64url) to another one.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestReplayedCallback(t *testing.T) {
	rg := newRig(t, nil, nil)
	q, c := rg.start("/")
	if o := rg.callback(q, c); o.Status != http.StatusFound {
		t.Fatalf("first callback: %d (%s)", o.Status, o.Log)
	}
	if o := rg.callback(q, c); o.Status != http.StatusUnauthorized {
		t.Fatalf("replayed callback: %d (%s)", o.Status, o.Log)
	}
}

func TestOpenRedirect(t *testing.T) {
	for _, uri := range []string{"//evil.example/x", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/\x7f/evil.example"} {
		rg := newRig(t, nil, nil)
		q, c := rg.start(uri)
		if o := rg.callback(q, c); o.Header.Get("Location") != "/" {
			t.Errorf("%q: back to %q", uri, o.Header.Get("Location"))
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	for _, forever := range []bool{false, true} {
		rg := newRig(t, nil, nil)
		// Without a refresh token, the session lives its session_timeout
		// whatever its tokens' expiry.
		rg.op.Set(func(p *oidctest.Provider) { p.NoRefresh = true })
		rg.store.forever = forever // the session's own time ends it too
		sid := rg.login("/")
		rg.clock = rg.clock.Add(59 * time.Minute)
		if o := rg.get("/", sid); o.Session == nil {
			t.Fatalf("session gone early: %d", o.Status)
		}
		rg.clock = rg.clock.Add(2 * time.Minute)
		if o := rg.get("/", sid); o.Session != nil || o.Status != http.StatusFound {
			t.Fatalf("store keeps entries %v: session after session_timeout: %d", forever, o.Status)
		}
	}
}

func TestLogout(t *testing.T) {
	rg := newRig(t, func(c *oidc.Config) {
		c.LogoutURI, c.PostLogoutURI, c.LogoutTokenHint = "/logout", "/bye", true
	}, nil)
	sid := rg.login("/")
	idToken := rg.get("/", sid).Session.IDToken
	o := rg.get("/logout", sid)
	loc, _ := url.Parse(o.Header.Get("Location"))
	if o.Status != http.StatusFound || !rg.op.HasPrefix(loc.String(), "/logout?") {
		t.Fatalf("logout: %d %v", o.Status, o.Header)
	}
	q := loc.Query()
	if q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != "http://rp.test/bye" || q.Get("client_id") != oidctest.ClientID {
		t.Errorf("end session request: %v", q)
	}
	if !strings.Contains(o.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("cookie not cleared: %v", o.Header)
	}
	if o := rg.get("/", sid); o.Session != nil {
		t.Fatal("session survived logout")
	}
	t.Run("logout_token_hint off", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.LogoutURI = "/logout" }, nil)
		o := rg.get("/logout", rg.login("/"))
		if loc, _ := url.Parse(o.Header.Get("Location")); o.Status != http.StatusFound || loc.Query().Has("id_token_hint") || loc.Query().Has("post_logout_redirect_uri") {
			t.Fatalf("logout: %d %v", o.Status, o.Header)
		}
	})
	t.Run("no end_session_endpoint", func(t *testing.T) {
		op := oidctest.New(t, false)
		op.Set(func(p *oidctest.Provider) { p.NoEndSession = true })
		rg := newRig(t, func(c *oidc.Config) { c.LogoutURI = "/logout" }, op)
		if o := rg.get("/logout", rg.login("/")); o.Status != http.StatusOK {
			t.Fatalf("logout: %d %v", o.Status, o.Header)
		}
	})
}

func TestFrontchannelLogout(t *testing.T) {
	rg := newRig(t, func(c *oidc.Config) { c.FrontchannelLogoutURI = "/fc" }, nil)
	sid := rg.login("/")
	s := rg.get("/", sid).Session
	bad := rg.p.Handle(context.Background(), oidc.Request{Path: "/fc", Query: url.Values{"iss": {"https://evil.example"}, "sid": {s.Sid}}.Encode()})
	if bad.Status != http.StatusBadRequest || rg.get("/", sid).Session == nil {
		t.Fatalf("logout for another issuer: %d", bad.Status)
	}
	for _, q := range []url.Values{{"sid": {s.Sid}}, {"iss": {rg.op.Issuer}}} {
		// "If either is included, both MUST be" (Front-Channel Logout 1.0, section 2).
		o := rg.p.Handle(context.Background(), oidc.Request{Path: "/fc", Query: q.Encode()})
		if o.Status != http.StatusBadRequest || rg.get("/", sid).Session == nil {
			t.Fatalf("logout with %v alone: %d, or the session ended", q, o.Status)
		}
	}
	// The provider's iframe carries no cookie (SameSite=Lax): sid finds the session.
	o := rg.p.Handle(context.Background(), oidc.Request{Path: "/fc", Query: url.Values{"iss": {rg.op.Issuer}, "sid": {s.Sid}}.Encode()})
	if o.Status != http.StatusOK || !strings.Contains(o.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("front-channel logout: %d %v", o.Status, o.Header)
	}
	if rg.get("/", sid).Session != nil {
		t.Fatal("session survived front-channel logout")
	}
}

func TestProviderFailures(t *testing.T) {
	t.Run("issuer mismatch", func(t *testing.T) {
		rg := newRig(t, func(c *oidc.Config) { c.Issuer += "/other" }, nil)
		if o := rg.get("/", ""); o.Status != http.StatusInternalServerError || !o.Error {
			t.Fatalf("%d %s", o.Status, o.Log)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		op := oidctest.New(t, true)
		if o := newRig(t, nil, op).get("/", ""); o.Status != http.StatusInternalServerError {
			t.Fatalf("%d %s", o.Status, o.Log)
		}
	})
	t.Run("no secret logged", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		rg.op.Set(func(p *oidctest.Provider) { p.Mutate = func(c map[string]any) { c["aud"] = "x" } })
		q, c := rg.start("/")
		o := rg.callback(q, c)
		if strings.Contains(o.Log, "eyJ") || strings.Contains(o.Log, oidctest.ClientSecret) {
			t.Fatalf("log leaks a token: %s", o.Log)
		}
	})
}

// TestLoginInProgress checks the login cookie: logins in progress take no
// room in the store, outlive a reload (a new Provider on the same store),
// and end after 10 minutes.
func TestLoginInProgress(t *testing.T) {
	t.Run("anonymous requests leave the store alone", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		for range 100 {
			if o := rg.get("/", ""); o.Status != http.StatusFound {
				t.Fatalf("%d %s", o.Status, o.Log)
			}
		}
		if n := len(rg.store.m); n != 0 {
			t.Fatalf("the store holds %d keys after 100 logins started, want none", n)
		}
	})
	t.Run("reload", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		q, c := rg.start("/a")
		rg.p = oidc.New(rg.cfg, rg.store, func() time.Time { return rg.clock })
		if o := rg.callback(q, c); o.Status != http.StatusFound || o.Header.Get("Location") != "/a" {
			t.Fatalf("callback after a reload: %d (%s)", o.Status, o.Log)
		}
	})
	t.Run("another provider's login", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		q, c := rg.start("/a")
		other := newRig(t, nil, rg.op)
		if o := other.callback(q, c); o.Status != http.StatusUnauthorized {
			t.Fatalf("callback with another provider's login: %d (%s)", o.Status, o.Log)
		}
	})
	t.Run("expired", func(t *testing.T) {
		rg := newRig(t, nil, nil)
		// The ID token is still good then: only the login has expired.
		rg.op.Set(func(p *oidctest.Provider) {
			p.Mutate = func(c map[string]any) { c["exp"] = time.Now().Add(time.Hour).Unix() }
		})
		q, c := rg.start("/a")
		rg.clock = rg.clock.Add(10 * time.Minute)
		if o := rg.callback(q, c); o.Status != http.StatusUnauthorized {
			t.Fatalf("callback after 10 minutes: %d (%s)", o.Status, o.Log)
		}
	})
}

// TestProviderCRL checks ssl_crl: a provider whose certificate a CRL of
// its CA revokes cannot be reached (500); without the CRL it can.
func TestProviderCRL(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(2), RevocationTime: time.Now().Add(-time.Minute)}}}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	crl, _ := x509.ParseRevocationList(crlDER)
	op := oidctest.NewTLS(t, &tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey})
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	newRig(t, func(c *oidc.Config) { c.RootCAs = pool }, op).login("/")
	o := newRig(t, func(c *oidc.Config) { c.RootCAs, c.CRLs = pool, []*x509.RevocationList{crl} }, op).get("/", "")
	if o.Status != http.StatusInternalServerError || !strings.Contains(o.Log, "revoked") {
		t.Fatalf("revoked provider certificate: %d %s", o.Status, o.Log)
	}
}

// TestMetadataFetchedOnce checks that requests arriving together before
// the metadata is known make one fetch, and that it is fetched again after
// an hour.
func TestMetadataFetchedOnce(t *testing.T) {
	rg := newRig(t, nil, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rg.p.Handle(context.Background(), oidc.Request{Path: "/", RequestURI: "/", Host: "rp.test"})
		}()
	}
	wg.Wait()
	count := func() (n int) {
		rg.op.Set(func(p *oidctest.Provider) { n = p.Discoveries })
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d metadata fetches, want 1", n)
	}
	rg.clock = rg.clock.Add(time.Hour)
	rg.get("/", "")
	if n := count(); n != 2 {
		t.Fatalf("%d metadata fetches after an hour, want 2", n)
	}
}

// TestProviderDownFetchedOnce checks that requests arriving together while
// the provider is slow and failing wait for one fetch of the metadata and
// share its failure, instead of each fetching in turn (20 requests would
// wait 20 timeouts), and that a later request tries again.
func TestProviderDownFetchedOnce(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return hits
	}
	rg := newRig(t, func(c *oidc.Config) { c.ConfigURL = down.URL }, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o := rg.get("/", ""); o.Status != http.StatusInternalServerError {
				t.Errorf("provider down: %d (%s)", o.Status, o.Log)
			}
		}()
	}
	wg.Wait()
	if n := count(); n > 3 {
		t.Fatalf("%d metadata fetches for 20 requests together, want 1 (a few if some came late)", n)
	}
	before := count()
	rg.get("/", "")
	if n := count(); n != before+1 {
		t.Fatalf("a later request made %d fetches, want 1", n-before)
	}
}
