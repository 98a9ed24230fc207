package daemon

import (
	"fmt"

	"fulcrum/internal/config"
	"fulcrum/internal/referer"
	"fulcrum/internal/securelink"
	"fulcrum/internal/vars"
)

// secureLink is a level's secure_link check, compiled: the MD5 form's two
// expressions, or the secret form's word.
type secureLink struct {
	link, md5 *vars.Template // nil in the secret form
	secret    string
}

// linkState is what evaluating $secure_link leaves for
// $secure_link_expires in one request (nginx's module context): the expiry
// text of the link, as written. The buffer is kept from request to
// request; expiresSet says it holds this request's value.
type linkState struct {
	expires    []byte
	expiresSet bool
}

// defineLinkVariables makes $secure_link, $secure_link_expires and
// $invalid_referer known to comp. nginx defines all three whatever the
// configuration, and computes each at most once per request, when it is
// first read; so does fulcrum, and a request that reads none pays nothing.
// As in nginx 1.22.1, set may change $invalid_referer but not the
// $secure_link ones ("the duplicate "secure_link" variable").
func (s *snapshot) defineLinkVariables(comp *vars.Compiler) {
	comp.DefineCached("secure_link", s.getSecureLink)
	comp.DefineCached("secure_link_expires", getSecureLinkExpires)
	comp.DefineCached("invalid_referer", s.getInvalidReferer)
	comp.Unchangeable("secure_link")
	comp.Unchangeable("secure_link_expires")
}

// compileLinkChecks compiles the secure_link checks and the valid_referers
// of every level that has them.
func (s *snapshot) compileLinkChecks(comp *vars.Compiler) error {
	s.secureLinks = map[*config.Settings]*secureLink{}
	s.referers = map[*config.Settings]*referer.Checker{}
	return walkLevels(s.cfg.HTTP.Servers, func(set *config.Settings, _ *config.Location) error {
		if vr := set.ValidReferers; vr != nil {
			s.referers[set] = referer.New(vr)
		}
		sl := set.SecureLink
		if sl == nil {
			return nil
		}
		c := &secureLink{secret: sl.Secret}
		if sl.Secret == "" {
			var err error
			if c.link, err = comp.Compile(sl.Link); err != nil {
				return fmt.Errorf("%w in %s", err, sl.Pos)
			}
			if c.md5, err = comp.Compile(sl.MD5); err != nil {
				return fmt.Errorf("%w in %s", err, sl.MD5Pos)
			}
		}
		s.secureLinks[set] = c
		return nil
	})
}

// levelOf returns the request's scratch and the Settings of the level
// serving it, or nil when the request did not come through serveHTTP.
func levelOf(st *vars.State) (*requestScratch, *config.Settings) {
	sc, _ := st.Engine.(*requestScratch)
	if sc == nil {
		return nil, nil
	}
	return sc, sc.rec.set
}

// getSecureLink is $secure_link, nginx's ngx_http_secure_link_variable: in
// the MD5 form "1" for a link whose hash is the MD5 of secure_link_md5's
// value, "0" for such a link that expired, not found otherwise; in the
// secret form the link part of the URI. The expiry is recorded for
// $secure_link_expires before the hash is checked, as nginx does, so
// secure_link_md5 may use it. Both values are built past the end of dst
// and dropped.
func (s *snapshot) getSecureLink(dst []byte, st *vars.State) ([]byte, bool) {
	sc, set := levelOf(st)
	c := s.secureLinks[set]
	if c == nil {
		return dst, false
	}
	if c.secret != "" {
		link, ok := securelink.Secret(st.RequestURI, c.secret)
		return append(dst, link...), ok
	}
	start := len(dst)
	dst = c.link.Append(dst, st)
	hash, expText, hasExpires := securelink.SplitLink(dst[start:])
	var expires int64
	if hasExpires {
		var ok bool
		if expires, ok = securelink.ParseExpires(expText); !ok {
			return dst[:start], false
		}
		sc.link.expires = append(sc.link.expires[:0], expText...)
		sc.link.expiresSet = true
	}
	sum, ok := securelink.DecodeHash(hash)
	if !ok {
		return dst[:start], false
	}
	mid := len(dst)
	dst = c.md5.Append(dst, st)
	v, ok := securelink.Verdict(sum, dst[mid:], expires, s.now().Unix())
	return append(dst[:start], v...), ok
}

// getSecureLinkExpires is $secure_link_expires: the expiry text of the link
// that $secure_link read in this request, not found before it or without
// one.
func getSecureLinkExpires(dst []byte, st *vars.State) ([]byte, bool) {
	sc, _ := levelOf(st)
	if sc == nil || !sc.link.expiresSet {
		return dst, false
	}
	return append(dst, sc.link.expires...), true
}

// getInvalidReferer is $invalid_referer: "1" when the level's
// valid_referers refuse the request's Referer field, empty otherwise (also
// where no valid_referers applies); not found, its line logged at alert,
// when a regex's match hits its bound.
func (s *snapshot) getInvalidReferer(dst []byte, st *vars.State) ([]byte, bool) {
	_, set := levelOf(st)
	c := s.referers[set]
	if c == nil {
		return dst, true
	}
	var value string
	var present bool
	if st.Header != nil {
		value, _, present = st.Header.Lookup("Referer", 0)
	}
	invalid, err := c.Check(value, present)
	if err != nil { // a regex over its match bound: nginx's variable fails
		st.LogVariableAlert("invalid_referer", err.Error())
		return dst, false
	}
	if invalid {
		dst = append(dst, '1')
	}
	return dst, true
}
