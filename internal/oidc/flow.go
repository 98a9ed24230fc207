package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/jwt"
)

// Request is what the provider needs of a client's request at a level
// with auth_oidc.
type Request struct {
	// Path is the request's path (nginx's $uri); RequestURI is the path
	// and query as the client sent them ($request_uri), where the client
	// returns after login.
	Path, RequestURI string
	// Query is the request's query string, without "?".
	Query string
	// Host is the request's host ($host), TLS whether it came over TLS:
	// they make relative redirect and post-logout URIs absolute.
	Host string
	TLS  bool
	// Cookie is the value of the provider's cookie, LoginCookie of its
	// login cookie (<cookie_name>_login); "" for none.
	Cookie, LoginCookie string
}

// Outcome is what the daemon does with a request.
type Outcome struct {
	// Session, when Status is 0, is the request's session: let it in.
	Session *Session
	// Status is the status to answer with: 302 (Header has Location),
	// 200 (Body is the answer), 401 or 500.
	Status int
	Header http.Header
	Body   string
	// Log, when not empty, is why the request was refused or what went
	// wrong, for the error log; it holds no token or secret. Error is set
	// when it is an error of the provider or of fulcrum (500), not of the
	// client.
	Log   string
	Error bool
}

// Session is a logged-in user's tokens and claims.
type Session struct {
	IDToken     string         `json:"id"`
	AccessToken string         `json:"at,omitempty"`
	Claims      map[string]any `json:"claims"`
	// Sid is the ID token's "sid" claim, for front-channel logout.
	Sid string `json:"sid,omitempty"`
	// Expires is when the session ends (Unix seconds): session_timeout
	// after the login or the last refresh.
	Expires int64 `json:"exp"`
	// Refresh is the refresh token, "" when the provider gave none.
	Refresh string `json:"rt,omitempty"`
	// TokensExpire is when the tokens expire (Unix seconds; 0: unknown),
	// after which a request refreshes them; Nonce is the login's nonce,
	// which a refreshed ID token may only repeat.
	TokensExpire int64  `json:"texp,omitempty"`
	Nonce        string `json:"nonce,omitempty"`
}

// Claim returns the top-level claim name as the $oidc_claim_ variables
// show it (jwt.Format), and whether the session has it.
func (s *Session) Claim(name string) (string, bool) {
	v, ok := s.Claims[name]
	if !ok {
		return "", false
	}
	return jwt.Format(v), true
}

// Store keys: a session under "s:" and its id, a sid claim's session
// under "sid:". Nothing else is kept in the store.
func sessionKey(id string) string { return "s:" + id }
func sidKey(sid string) string    { return "sid:" + sid }

// Handle runs the module for one request: the callback, logout and
// front-channel logout URIs are answered; another request is let in with
// its session or sent to log in.
func (p *Provider) Handle(ctx context.Context, r Request) Outcome {
	switch {
	case r.Path == p.callbackPath():
		return p.callback(ctx, r)
	case p.cfg.LogoutURI != "" && r.Path == p.cfg.LogoutURI:
		return p.logout(ctx, r)
	case p.cfg.FrontchannelLogoutURI != "" && r.Path == p.cfg.FrontchannelLogoutURI:
		return p.frontchannelLogout(r)
	}
	s, id := p.session(r.Cookie)
	if s == nil {
		return p.login(ctx, r)
	}
	if !p.expired(s) {
		return Outcome{Session: s}
	}
	s, log := p.refreshed(ctx, id)
	if s != nil {
		return Outcome{Session: s}
	}
	o := p.login(ctx, r)
	if o.Log == "" {
		o.Log = log
	}
	return o
}

// callbackPath is the path of the redirect URI.
func (p *Provider) callbackPath() string {
	if strings.HasPrefix(p.cfg.RedirectURI, "/") {
		return p.cfg.RedirectURI
	}
	u, err := url.Parse(p.cfg.RedirectURI)
	if err != nil {
		return p.cfg.RedirectURI
	}
	return u.EscapedPath()
}

// absolute makes a path absolute with the request's scheme and host.
func absolute(r Request, path string) string {
	if !strings.HasPrefix(path, "/") {
		return path
	}
	scheme := "http"
	if r.TLS {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// session returns the live session the cookie names, and its id.
func (p *Provider) session(cookie string) (*Session, string) {
	if !wellFormed(cookie) {
		return nil, ""
	}
	v, ok := p.store.Get(sessionKey(cookie))
	if !ok {
		return nil, ""
	}
	var s Session
	if json.Unmarshal([]byte(v), &s) != nil || p.now().Unix() >= s.Expires {
		return nil, ""
	}
	return &s, cookie
}

// randomToken returns 32 bytes from crypto/rand, base64url without padding
// (43 characters).
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // Read does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormed reports whether s can be a token randomToken made.
func wellFormed(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// login sends the client to the authorization endpoint, remembering the
// state, nonce, PKCE verifier and the URI to return to.
func (p *Provider) login(ctx context.Context, r Request) Outcome {
	m, err := p.Metadata(ctx)
	if err != nil {
		return failure(err)
	}
	pd := pending{State: randomToken(), Nonce: randomToken(), URI: r.RequestURI, Redirect: absolute(r, p.cfg.RedirectURI),
		Expires: p.now().Add(loginTTL).Unix()}
	q := url.Values{"response_type": {"code"}, "scope": {strings.Join(p.cfg.Scope, " ")},
		"client_id": {p.cfg.ClientID}, "redirect_uri": {pd.Redirect}, "state": {pd.State}, "nonce": {pd.Nonce}}
	if p.usePKCE(m) {
		pd.Verifier = randomToken()
		sum := sha256.Sum256([]byte(pd.Verifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
	}
	sealed, err := p.seal(&pd)
	if err != nil {
		return failure(err)
	}
	loc := m.AuthorizationEndpoint + sep(m.AuthorizationEndpoint) + q.Encode()
	if p.cfg.ExtraAuthArgs != "" {
		loc += "&" + p.cfg.ExtraAuthArgs
	}
	// The login cookie binds the login to this browser: a callback with
	// a state of another browser's login is refused.
	h := http.Header{"Location": {loc}, "Set-Cookie": {p.loginCookie(sealed, r.TLS, false)}}
	return Outcome{Status: http.StatusFound, Header: h}
}

// sep is "?" or "&", whichever appends a query to u.
func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// usePKCE reports whether the login uses PKCE: pkce on, or not set and
// the provider lists S256.
func (p *Provider) usePKCE(m *Metadata) bool {
	switch p.cfg.PKCE {
	case "on":
		return true
	case "off":
		return false
	}
	return slices.Contains(m.CodeChallengeMethodsSupported, "S256")
}

// cookie is the Set-Cookie value of the provider's cookie: HttpOnly,
// SameSite=Lax, Secure over TLS; clear expires it.
func (p *Provider) cookie(value string, secure, clear bool) string {
	c := p.cfg.CookieName + "=" + value + "; Path=/; HttpOnly; SameSite=Lax"
	if secure {
		c += "; Secure"
	}
	if clear {
		c += "; Max-Age=0"
	}
	return c
}

// failure is the 500 of an error of the provider or of fulcrum.
func failure(err error) Outcome {
	return Outcome{Status: http.StatusInternalServerError, Log: "OIDC: " + err.Error(), Error: true}
}

// refuse is the 401 of a callback fulcrum does not accept.
func refuse(why string) Outcome {
	return Outcome{Status: http.StatusUnauthorized, Log: "OIDC: " + why}
}

// callback takes the provider's answer at the redirect URI: it checks the
// state against the login in progress of this client (its login cookie,
// which the answer clears), exchanges the code (which the provider takes
// once), validates the ID token, makes the session and sends
// the client back where it started.
func (p *Provider) callback(ctx context.Context, r Request) Outcome {
	q, err := url.ParseQuery(r.Query)
	if err != nil {
		return refuse("invalid callback arguments")
	}
	if e := q.Get("error"); e != "" {
		return refuse(fmt.Sprintf("the provider answered error %q", e))
	}
	state, code := q.Get("state"), q.Get("code")
	if state == "" || code == "" {
		return refuse("callback without state or code")
	}
	pd, err := p.open(r.LoginCookie)
	if err != nil {
		if errors.Is(err, errLogin) {
			return refuse(err.Error())
		}
		return failure(err)
	}
	if subtle.ConstantTimeCompare([]byte(pd.State), []byte(state)) != 1 {
		return refuse("state does not match this client's login")
	}
	m, err := p.Metadata(ctx)
	if err != nil {
		return failure(err)
	}
	s, err := p.exchange(ctx, m, pd, code)
	if err != nil {
		if errors.Is(err, ErrMetadata) {
			return failure(err)
		}
		return refuse(err.Error())
	}
	o := p.startSession(r, s, pd.URI)
	if o.Header != nil {
		o.Header.Add("Set-Cookie", p.loginCookie("", r.TLS, true))
	}
	return o
}

// startSession stores s under a new id (never the login's cookie: a
// session id fixed before the login is not the session's) and redirects
// to uri.
func (p *Provider) startSession(r Request, s *Session, uri string) Outcome {
	id := randomToken()
	if err := p.storeSession(id, s); err != nil {
		return failure(err)
	}
	h := http.Header{"Location": {localURI(uri)}, "Set-Cookie": {p.cookie(id, r.TLS, false)}}
	return Outcome{Status: http.StatusFound, Header: h}
}

// storeSession stores s under id, and id under its sid, for
// session_timeout from now.
func (p *Provider) storeSession(id string, s *Session) error {
	s.Expires = p.now().Add(p.cfg.SessionTimeout).Unix()
	rec, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := p.store.Put(sessionKey(id), string(rec), p.cfg.SessionTimeout); err != nil {
		return fmt.Errorf("session store: %w", err)
	}
	if s.Sid != "" {
		if err := p.store.Put(sidKey(s.Sid), id, p.cfg.SessionTimeout); err != nil {
			return fmt.Errorf("session store: %w", err)
		}
	}
	return nil
}

// endSession removes session id, s, and its sid's entry.
func (p *Provider) endSession(id string, s *Session) {
	p.store.Delete(sessionKey(id))
	if s.Sid != "" {
		p.store.Delete(sidKey(s.Sid))
	}
}

// localURI returns uri when it is a path on this server, else "/": the
// client returns only to a local path, never to another site ("//host"
// and "/\host" are other sites to browsers).
func localURI(uri string) string {
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") {
		return "/"
	}
	// Browsers drop tabs and newlines from a Location ("/\t/host" is
	// "//host" to them): a control character anywhere is refused.
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	return uri
}

// tokenAnswer is the token endpoint's answer (RFC 6749 sections 5.1 and
// 5.2).
type tokenAnswer struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	// ExpiresIn is a number (RFC 6749), or a string of one as some
	// providers write it; anything else is ignored, not refused.
	ExpiresIn any    `json:"expires_in"`
	Error     string `json:"error"`
}

// exchange trades the code for tokens and validates them.
func (p *Provider) exchange(ctx context.Context, m *Metadata, pd *pending, code string) (*Session, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {pd.Redirect}}
	if pd.Verifier != "" {
		form.Set("code_verifier", pd.Verifier)
	}
	ta, err := p.tokenRequest(ctx, m, form)
	if err != nil {
		return nil, err
	}
	if ta.IDToken == "" {
		return nil, fmt.Errorf("%w: no id_token in the answer", ErrToken)
	}
	tok, err := p.validate(ctx, m, ta.IDToken, pd.Nonce, nil)
	if err != nil {
		return nil, err
	}
	s := &Session{IDToken: ta.IDToken, AccessToken: ta.AccessToken, Claims: tok.Claims, Refresh: ta.RefreshToken, Nonce: pd.Nonce}
	s.Sid, _ = tok.Claims["sid"].(string)
	s.TokensExpire = p.tokensExpire(tok, ta)
	if p.cfg.Userinfo {
		if err := p.userinfo(ctx, m, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// tokenRequest POSTs form to the token endpoint with the client's
// credentials and returns its 200 answer.
func (p *Provider) tokenRequest(ctx context.Context, m *Metadata, form url.Values) (*tokenAnswer, error) {
	basic := p.cfg.ClientSecret != "" && p.authMethod(m) == "client_secret_basic"
	if !basic {
		form.Set("client_id", p.cfg.ClientID)
		if p.cfg.ClientSecret != "" {
			form.Set("client_secret", p.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 section 2.3.1: both form-encoded, then Basic.
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: token endpoint: %v", ErrMetadata, err)
	}
	defer resp.Body.Close()
	var ta tokenAnswer
	derr := decode(resp.Body, &ta)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w answered %d %q", ErrToken, resp.StatusCode, ta.Error)
	}
	if derr != nil {
		return nil, fmt.Errorf("%w: %v", ErrToken, derr)
	}
	return &ta, nil
}

// seconds reads expires_in: a JSON number or a string of digits; 0 for
// anything else.
func seconds(v any) int64 {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// tokensExpire is when a token answer's tokens expire (Unix seconds): the
// ID token's exp (tok, nil when the answer had none) or, when earlier,
// the access token's expires_in; 0 when neither says.
func (p *Provider) tokensExpire(tok *jwt.Token, ta *tokenAnswer) int64 {
	var at int64
	if tok != nil {
		if exp, ok := tok.Claims["exp"].(json.Number); ok {
			if f, err := exp.Float64(); err == nil {
				at = int64(f)
			}
		}
	}
	if n := seconds(ta.ExpiresIn); n > 0 {
		if e := p.now().Unix() + n; at == 0 || e < at {
			at = e
		}
	}
	return at
}

// authMethod is how fulcrum authenticates at the token endpoint:
// client_secret_basic, the default of OpenID Connect Discovery, unless the
// provider lists client_secret_post and not it.
func (p *Provider) authMethod(m *Metadata) string {
	ms := m.TokenEndpointAuthMethodsSupported
	if len(ms) > 0 && !slices.Contains(ms, "client_secret_basic") && slices.Contains(ms, "client_secret_post") {
		return "client_secret_post"
	}
	return "client_secret_basic"
}

// iatSkew is how far in the future an ID token's iat may be (clocks
// differ).
const iatSkew = 5 * time.Minute

// validate checks an ID token as OpenID Connect Core section 3.1.3.7
// asks: its signature with the provider's keys, iss, aud (and azp when
// there are several audiences), exp, iat and nonce.
//
// prev, when not nil, is the session a refresh renews: the new ID token
// must then be of the same user as its (Core section 12.2).
func (p *Provider) validate(ctx context.Context, m *Metadata, raw, nonce string, prev *Session) (*jwt.Token, error) {
	tok, err := jwt.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if strings.HasPrefix(tok.Alg, "HS") {
		// A symmetric key would be the client secret, not the provider's keys.
		return nil, fmt.Errorf("%w: alg %s is not supported", ErrIDToken, tok.Alg)
	}
	ks, err := p.keySet(ctx, m, false)
	if err != nil {
		return nil, err
	}
	err = tok.Verify(ks)
	if errors.Is(err, jwt.ErrNoKey) {
		if ks, err = p.keySet(ctx, m, true); err != nil {
			return nil, err
		}
		err = tok.Verify(ks)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if err := p.checkClaims(tok, nonce, prev != nil); err != nil {
		return nil, err
	}
	if prev != nil {
		if err := sameUser(tok.Claims, prev.Claims); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// checkClaims checks the claims of a token whose signature verified. A
// refreshed ID token may lack the nonce; if it has one, it is the login's
// (Core section 12.2).
func (p *Provider) checkClaims(tok *jwt.Token, nonce string, refreshed bool) error {
	c := tok.Claims
	if iss, _ := c["iss"].(string); iss != p.cfg.Issuer {
		return fmt.Errorf("%w: iss %q is not the issuer", ErrIDToken, iss)
	}
	auds := audiences(c["aud"])
	if !slices.Contains(auds, p.cfg.ClientID) {
		return fmt.Errorf("%w: aud does not name the client", ErrIDToken)
	}
	if azp, ok := c["azp"].(string); (len(auds) > 1 || ok) && azp != p.cfg.ClientID {
		return fmt.Errorf("%w: azp is not the client", ErrIDToken)
	}
	if _, ok := c["exp"]; !ok {
		return fmt.Errorf("%w: no exp", ErrIDToken)
	}
	now := p.now()
	if err := tok.CheckTime(now, 0); err != nil {
		return fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	iat, ok := c["iat"].(json.Number)
	if !ok {
		return fmt.Errorf("%w: no iat", ErrIDToken)
	}
	if t, err := iat.Float64(); err != nil || time.Unix(int64(t), 0).After(now.Add(iatSkew)) {
		return fmt.Errorf("%w: iat in the future", ErrIDToken)
	}
	got, ok := c["nonce"].(string)
	if refreshed && !ok && c["nonce"] == nil {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return fmt.Errorf("%w: nonce does not match the login's", ErrIDToken)
	}
	return nil
}

// audiences returns the aud claim as a list (a string or an array).
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// userinfo fetches the userinfo endpoint's claims with the access token
// and adds those the ID token lacks; its sub must be the ID token's
// (Core section 5.3.2).
func (p *Provider) userinfo(ctx context.Context, m *Metadata, s *Session) error {
	var claims map[string]any
	if err := p.getJSON(ctx, m.UserinfoEndpoint, s.AccessToken, &claims); err != nil {
		return fmt.Errorf("%w: userinfo: %v", ErrMetadata, err)
	}
	// Compared as strings: sub is one (Core section 2), and two objects
	// would not compare (a panic) nor two missing ones match.
	got, _ := claims["sub"].(string)
	want, _ := s.Claims["sub"].(string)
	if got == "" || got != want {
		return fmt.Errorf("%w: userinfo sub is not the ID token's", ErrIDToken)
	}
	for k, v := range claims {
		if _, ok := s.Claims[k]; !ok {
			s.Claims[k] = v
		}
	}
	return nil
}

// logout ends the session and sends the client to the provider's end
// session endpoint (RP-Initiated Logout 1.0) with client_id,
// post_logout_redirect_uri and, with logout_token_hint on, id_token_hint;
// without that endpoint, to post_logout_uri, or answers 200.
func (p *Provider) logout(ctx context.Context, r Request) Outcome {
	s, id := p.session(r.Cookie)
	if s != nil {
		p.endSession(id, s)
	}
	h := http.Header{"Set-Cookie": {p.cookie("", r.TLS, true)}, "Cache-Control": {"no-store"}}
	m, err := p.Metadata(ctx)
	if err != nil {
		o := failure(err)
		o.Header = h
		return o
	}
	post := ""
	if p.cfg.PostLogoutURI != "" {
		post = absolute(r, p.cfg.PostLogoutURI)
	}
	switch {
	case m.EndSessionEndpoint != "":
		q := url.Values{"client_id": {p.cfg.ClientID}}
		if post != "" {
			q.Set("post_logout_redirect_uri", post)
		}
		if p.cfg.LogoutTokenHint && s != nil {
			q.Set("id_token_hint", s.IDToken)
		}
		h.Set("Location", m.EndSessionEndpoint+sep(m.EndSessionEndpoint)+q.Encode())
	case post != "":
		h.Set("Location", post)
	default:
		h.Set("Content-Type", "text/plain")
		return Outcome{Status: http.StatusOK, Header: h, Body: "logged out\n"}
	}
	return Outcome{Status: http.StatusFound, Header: h}
}

// frontchannelLogout ends the session the provider names (Front-Channel
// Logout 1.0 section 2): by iss and sid, which must be the issuer and a
// session's ID token sid (one without the other is refused, 400); without
// both, the cookie's session. It answers
// 200 with caching off, as section 3 asks.
func (p *Provider) frontchannelLogout(r Request) Outcome {
	q, _ := url.ParseQuery(r.Query)
	h := http.Header{"Cache-Control": {"no-cache, no-store"}, "Pragma": {"no-cache"}, "Content-Type": {"text/plain"}}
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case iss != "" && iss != p.cfg.Issuer:
		return Outcome{Status: http.StatusBadRequest, Header: h, Log: "OIDC: front-channel logout for another issuer"}
	case (iss == "") != (sid == ""):
		// "If either is included, both MUST be" (section 2).
		return Outcome{Status: http.StatusBadRequest, Header: h, Log: "OIDC: front-channel logout with only one of iss and sid"}
	case sid != "":
		if id, ok := p.store.Get(sidKey(sid)); ok {
			p.store.Delete(sessionKey(id))
			p.store.Delete(sidKey(sid))
		}
	default:
		if s, id := p.session(r.Cookie); s != nil {
			p.store.Delete(sessionKey(id))
		}
	}
	return Outcome{Status: http.StatusOK, Header: h}
}
