package daemon

import (
	"crypto/x509"
	"errors"
	"net/http"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/keyval"
	"fulcrum/internal/oidc"
	"fulcrum/internal/vars"
)

// accessAnswered is what an access check returns when it wrote the whole
// answer itself (auth_oidc's logout pages): the request ends there.
const accessAnswered = -1

// buildOIDC makes the snapshot's OpenID Providers, each keeping its
// sessions in its keyval zone (session_store, or the default store the
// configuration made), so that sessions outlive a reload as the zone does;
// keys are the daemon's login keys, nil for a configuration test.
func (s *snapshot) buildOIDC(cfg *config.Config, keys *oidc.LoginKeys) {
	if cfg.HTTP == nil || len(cfg.HTTP.OIDCProviders) == 0 {
		return
	}
	if keys == nil {
		keys = oidc.NewLoginKeys()
	}
	s.oidcs = make(map[string]*oidc.Provider, len(cfg.HTTP.OIDCProviders))
	for _, p := range cfg.HTTP.OIDCProviders {
		c := oidc.Config{Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			ConfigURL: p.ConfigURL, CookieName: p.CookieName, ExtraAuthArgs: p.ExtraAuthArgs,
			RedirectURI: p.RedirectURI, LogoutURI: p.LogoutURI, FrontchannelLogoutURI: p.FrontchannelLogoutURI,
			PostLogoutURI: p.PostLogoutURI, LogoutTokenHint: p.LogoutTokenHint, Userinfo: p.Userinfo,
			PKCE: p.PKCE, Scope: p.Scope, SessionTimeout: p.SessionTimeout, CRLs: p.CRLs,
			LoginKey: keys.Key(p.Name)}
		if len(p.TrustedCAs) > 0 {
			c.RootCAs = x509.NewCertPool()
			for _, ca := range p.TrustedCAs {
				c.RootCAs.AddCert(ca)
			}
		}
		s.oidcs[p.Name] = oidc.New(c, zoneStore{s.keyvals[p.SessionStore].zone}, nil)
	}
}

// zoneStore keeps a provider's sessions in a keyval zone.
type zoneStore struct{ z *keyval.Zone }

var _ oidc.Store = zoneStore{}

func (zs zoneStore) Get(key string) (string, bool) { return zs.z.Get(key) }

func (zs zoneStore) Put(key, value string, ttl time.Duration) error {
	err := zs.z.Add(map[string]keyval.Pair{key: {Value: value}}, ttl)
	if errors.Is(err, keyval.ErrKeyExists) {
		err = zs.z.Set(key, &keyval.Pair{Value: value}, ttl)
	}
	return err
}

func (zs zoneStore) Delete(key string) { _ = zs.z.Set(key, nil, 0) } // a missing key is already gone

// defineOIDCVariables makes $oidc_id_token, $oidc_access_token and
// $oidc_claim_NAME known: the session auth_oidc let the request in with
// (empty before the access phase, and where auth_oidc is off).
func defineOIDCVariables(comp *vars.Compiler) {
	session := func(st *vars.State) *oidc.Session {
		if sc, _ := st.Engine.(*requestScratch); sc != nil {
			return sc.oidc
		}
		return nil
	}
	comp.Define("oidc_id_token", func(dst []byte, st *vars.State) ([]byte, bool) {
		if s := session(st); s != nil {
			return append(dst, s.IDToken...), true
		}
		return dst, false
	})
	comp.Define("oidc_access_token", func(dst []byte, st *vars.State) ([]byte, bool) {
		if s := session(st); s != nil && s.AccessToken != "" {
			return append(dst, s.AccessToken...), true
		}
		return dst, false
	})
	comp.DefinePrefix("oidc_claim_", func(name string) vars.Getter {
		return func(dst []byte, st *vars.State) ([]byte, bool) {
			if s := session(st); s != nil {
				v, ok := s.Claim(name)
				return append(dst, v...), ok
			}
			return dst, false
		}
	})
}

// authOIDC is auth_oidc's handler of the access phase: 0 when off; 200
// with the session kept for the $oidc_ variables; 302 to the provider
// (log in, log out) or back to where the client started; 401 for a
// callback fulcrum does not accept; 500 when the provider cannot be
// reached or answers wrongly; accessAnswered for a page written whole.
func (s *snapshot) authOIDC(w *recorder, r *http.Request, st *vars.State, set *config.Settings) int {
	p := s.oidcs[set.AuthOIDC]
	if p == nil {
		return 0
	}
	req := oidc.Request{Path: st.Path, RequestURI: st.RequestURI, Query: st.Args, Host: r.Host, TLS: r.TLS != nil}
	if c, err := r.Cookie(p.Config().CookieName); err == nil {
		req.Cookie = c.Value
	}
	if c, err := r.Cookie(p.Config().CookieName + "_login"); err == nil {
		req.LoginCookie = c.Value
	}
	out := p.Handle(r.Context(), req)
	if out.Log != "" {
		level := errlog.Info
		if out.Error {
			level = errlog.Error
		}
		s.logAuth(set, level, r, st, out.Log)
	}
	if out.Session != nil {
		if sc, _ := st.Engine.(*requestScratch); sc != nil {
			sc.oidc = out.Session
		}
		return http.StatusOK
	}
	h := w.Header()
	for k, v := range out.Header {
		h[k] = v
	}
	if out.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(out.Body))
		return accessAnswered
	}
	return out.Status
}
