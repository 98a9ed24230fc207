package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"fulcrum/internal/jwt"
)

// A session whose tokens have expired is refreshed with its refresh token
// (OpenID Connect Core section 12, RFC 6749 section 6), as NGINX Plus's
// session_timeout describes: "a timeout after which the session is
// deleted, unless it was refreshed". A refresh gives the session new
// tokens and a new session_timeout; a refresh that fails ends the session
// and the client logs in again. A session without a refresh token lives
// its session_timeout, whatever its tokens' expiry.
//
// The requests of one session that find its tokens expired at the same
// time wait for one refresh: a provider that rotates refresh tokens
// (RFC 9700 section 4.14.2) takes each once, so a second refresh with the
// same token would fail and log the user out.

// flight is a refresh in progress; done is closed when s (nil: the
// refresh failed) is set.
type flight struct {
	done chan struct{}
	s    *Session
}

// expired reports whether s's tokens have expired and it can be refreshed.
func (p *Provider) expired(s *Session) bool {
	return s.Refresh != "" && s.TokensExpire != 0 && p.now().Unix() >= s.TokensExpire
}

// refreshed returns session id's refreshed session, or nil when the
// refresh failed (the session is then gone) or ctx ended first; log is
// why it failed, for the error log.
func (p *Provider) refreshed(ctx context.Context, id string) (s *Session, log string) {
	p.flightsMu.Lock()
	if f := p.flights[id]; f != nil {
		p.flightsMu.Unlock()
		select {
		case <-f.done:
			return f.s, ""
		case <-ctx.Done():
			return nil, ""
		}
	}
	f := &flight{done: make(chan struct{})}
	if p.flights == nil {
		p.flights = map[string]*flight{}
	}
	p.flights[id] = f
	p.flightsMu.Unlock()
	defer func() {
		p.flightsMu.Lock()
		delete(p.flights, id)
		p.flightsMu.Unlock()
		close(f.done)
	}()
	// Read the session again: a refresh that ended between this request's
	// read and now has renewed it already.
	cur, _ := p.session(id)
	switch {
	case cur == nil:
		return nil, ""
	case !p.expired(cur):
		f.s = cur
		return cur, ""
	}
	// The waiting requests share this refresh: the client that started it
	// hanging up does not end it (the HTTP client's timeout bounds it).
	ns, err := p.refresh(context.WithoutCancel(ctx), id, cur)
	if err != nil {
		p.endSession(id, cur)
		return nil, "OIDC: refresh failed, the client logs in again: " + err.Error()
	}
	f.s = ns
	return ns, ""
}

// refresh trades s's refresh token for new tokens, validates them and
// stores the renewed session under id.
func (p *Provider) refresh(ctx context.Context, id string, s *Session) (*Session, error) {
	m, err := p.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	ta, err := p.tokenRequest(ctx, m, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.Refresh}})
	if err != nil {
		return nil, err
	}
	if ta.AccessToken == "" { // RFC 6749 section 5.1: REQUIRED
		return nil, fmt.Errorf("%w: no access_token in the refresh answer", ErrToken)
	}
	ns := &Session{IDToken: s.IDToken, AccessToken: ta.AccessToken, Claims: s.Claims, Sid: s.Sid, Nonce: s.Nonce, Refresh: ta.RefreshToken}
	if ns.Refresh == "" { // the provider may keep the refresh token (RFC 6749 section 6)
		ns.Refresh = s.Refresh
	}
	var tok *jwt.Token
	if ta.IDToken != "" {
		if tok, err = p.validate(ctx, m, ta.IDToken, s.Nonce, s); err != nil {
			return nil, err
		}
		ns.IDToken, ns.Claims = ta.IDToken, tok.Claims
		ns.Sid, _ = tok.Claims["sid"].(string)
		if p.cfg.Userinfo {
			if err := p.userinfo(ctx, m, ns); err != nil {
				return nil, err
			}
		}
	}
	ns.TokensExpire = p.tokensExpire(tok, ta)
	if ns.TokensExpire != 0 && ns.TokensExpire <= p.now().Unix() {
		return nil, fmt.Errorf("%w: the refreshed tokens have expired already", ErrToken)
	}
	if err := p.storeSession(id, ns); err != nil {
		return nil, err
	}
	if s.Sid != "" && s.Sid != ns.Sid {
		p.store.Delete(sidKey(s.Sid))
	}
	return ns, nil
}

// sameUser checks that a refreshed ID token's claims name the user and
// client of the session's (Core section 12.2: iss, sub, aud and, when
// there, azp and auth_time are the same).
func sameUser(got, prev map[string]any) error {
	for _, name := range []string{"iss", "sub", "azp", "auth_time"} {
		g, gok := got[name]
		v, vok := prev[name]
		if gok != vok || gok && jwt.Format(g) != jwt.Format(v) {
			return fmt.Errorf("%w: the refreshed ID token's %s is not the session's", ErrIDToken, name)
		}
	}
	a, _ := json.Marshal(audiences(got["aud"]))
	b, _ := json.Marshal(audiences(prev["aud"]))
	if string(a) != string(b) {
		return fmt.Errorf("%w: the refreshed ID token's aud is not the session's", ErrIDToken)
	}
	return nil
}
