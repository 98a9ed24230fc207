package proxy

import (
	"fmt"
	"strconv"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// Sticky is an upstream's session persistence (NGINX Plus's "sticky"),
// compiled once per snapshot: where a request's server ID is read from and,
// for the cookie method, the cookie that names the server that answered.
type Sticky struct {
	// lookup are the templates whose first non-empty value is the
	// request's server ID ($cookie_NAME, or sticky route's variables).
	lookup []*vars.Template
	// cookie is the cookie method's cookie; nil for sticky route and learn.
	cookie *stickyCookie
	// learn is the learn method's; nil for the others.
	learn *stickyLearn
}

// stickyLearn is "sticky learn": lookup gives a request's session, create
// the session a server's response created, zone maps sessions to servers.
type stickyLearn struct {
	create  []*vars.Template
	zone    *SessionZone
	timeout time.Duration
	header  bool // learn at the response's head, not at its end
}

// stickyCookie is the Set-Cookie a sticky cookie upstream sends.
type stickyCookie struct {
	name     string
	expires  time.Duration
	exp      expiresKind
	domain   *vars.Template // nil: no domain attribute
	samesite *vars.Template // nil: no samesite attribute
	path     string
	httpOnly bool
	secure   bool
	// fixed maps a server's sticky ID to its whole Set-Cookie value when
	// nothing in it changes per request (no expires=time, no variables):
	// then a response's cookie costs a map look-up, no allocation.
	fixed map[string]string
}

// expiresKind is how a sticky cookie expires.
type expiresKind uint8

const (
	expiresSession expiresKind = iota // no expires: a session cookie
	expiresAfter                      // expires=time
	expiresMax                        // expires=max
)

// maxExpires is what NGINX Plus writes for expires=max: the last date a
// two-digit cookie year can hold, and ten years of max-age.
const maxExpires = "; expires=Thu, 31-Dec-37 23:55:55 GMT; max-age=315360000"

// NewSticky compiles an upstream's sticky directive for the servers of pool;
// zone is the session table of sticky learn (nil for the other methods). It
// returns nil for nil.
func NewSticky(s *config.Sticky, pool *upstream.Pool, comp *vars.Compiler, zone *SessionZone) (*Sticky, error) {
	if s == nil {
		return nil, nil
	}
	out := &Sticky{}
	var err error
	if out.lookup, err = compileAll(s.Lookup, comp); err != nil {
		return nil, fmt.Errorf("sticky in %s: %w", s.Pos, err)
	}
	if s.Mode == config.StickyLearn {
		l := &stickyLearn{zone: zone, timeout: s.Timeout, header: s.Header}
		if l.create, err = compileAll(s.Create, comp); err != nil {
			return nil, fmt.Errorf("sticky in %s: %w", s.Pos, err)
		}
		if zone == nil {
			return nil, fmt.Errorf("sticky in %s: no zone for sticky learn", s.Pos)
		}
		out.learn = l
		return out, nil
	}
	if s.Cookie == nil {
		return out, nil
	}
	c, err := newStickyCookie(s.Cookie, comp)
	if err != nil {
		return nil, fmt.Errorf("sticky in %s: %w", s.Pos, err)
	}
	out.cookie = c
	if c.exp != expiresAfter && c.domain == nil && c.samesite == nil {
		c.fixed = map[string]string{}
		for _, backup := range []bool{false, true} {
			for i := range pool.Len(backup) {
				id := pool.Server(backup, i).StickyID()
				c.fixed[id] = string(c.append(nil, id, time.Time{}, nil))
			}
		}
	}
	return out, nil
}

// compileAll compiles each of srcs.
func compileAll(srcs []string, comp *vars.Compiler) ([]*vars.Template, error) {
	out := make([]*vars.Template, 0, len(srcs))
	for _, src := range srcs {
		t, err := comp.Compile(src)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// newStickyCookie compiles the cookie's attributes. A domain or samesite
// without variables compiles to nil when empty and is kept as a constant.
func newStickyCookie(spec *config.StickyCookieSpec, comp *vars.Compiler) (*stickyCookie, error) {
	c := &stickyCookie{name: spec.Name, expires: spec.Expires, httpOnly: spec.HTTPOnly, secure: spec.Secure}
	switch {
	case spec.ExpiresMax:
		c.exp = expiresMax
	case spec.ExpiresSet:
		c.exp = expiresAfter
	}
	if spec.Path != "" {
		c.path = "; path=" + spec.Path
	}
	var err error
	if c.domain, err = optionalTemplate(spec.Domain, comp); err != nil {
		return nil, err
	}
	if c.samesite, err = optionalTemplate(spec.SameSite, comp); err != nil {
		return nil, err
	}
	return c, nil
}

// optionalTemplate compiles src, or returns nil for "" (the attribute is not
// sent).
func optionalTemplate(src string, comp *vars.Compiler) (*vars.Template, error) {
	if src == "" {
		return nil, nil
	}
	return comp.Compile(src)
}

// AppendID appends the request's server ID to dst[:0] and returns it; empty
// when the request carries none. For the cookie and route methods it is the
// first non-empty lookup value; for learn, the ID of the server that created
// the session that value names, if the zone knows it (the session is
// renewed). now is the request's clock reading.
func (s *Sticky) AppendID(dst []byte, st *vars.State, now time.Time) []byte {
	dst = firstValue(dst, s.lookup, st)
	if s.learn == nil || len(dst) == 0 {
		return dst
	}
	id, ok := s.learn.zone.Lookup(dst, now, s.learn.timeout)
	if !ok {
		return dst[:0]
	}
	return append(dst[:0], id...)
}

// firstValue appends the first non-empty value of ts to dst[:0].
func firstValue(dst []byte, ts []*vars.Template, st *vars.State) []byte {
	for _, t := range ts {
		dst = t.Append(dst[:0], st)
		if len(dst) > 0 {
			return dst
		}
	}
	return dst[:0]
}

// learnSession records the session the response of the server that
// answered created, if its create values name one. atHead says the
// response's head just arrived (learn's "header" parameter), else it ended.
func (h *Handler) learnSession(req *request, atHead bool) {
	s := req.target.Sticky
	if s == nil || s.learn == nil || s.learn.header != atHead || req.cur.srv == nil {
		return
	}
	// cookieBuf is free: only the cookie method sets cookies. (stickyID
	// may still be the balancer's.)
	req.cookieBuf = firstValue(req.cookieBuf, s.learn.create, req.st)
	if len(req.cookieBuf) > 0 {
		s.learn.zone.Learn(req.cookieBuf, req.cur.srv.StickyID(), req.cur.headAt, s.learn.timeout)
	}
}

// setCookie returns the Set-Cookie value naming srv. scratch is a reused
// buffer for a cookie built per request; it is returned for reuse.
func (s *Sticky) setCookie(srv *upstream.Server, now time.Time, st *vars.State, scratch []byte) (string, []byte) {
	c := s.cookie
	if v, ok := c.fixed[srv.StickyID()]; ok {
		return v, scratch
	}
	scratch = c.append(scratch[:0], srv.StickyID(), now, st)
	return string(scratch), scratch
}

// append writes the cookie for server ID id in NGINX Plus's attribute order:
// name=id, expires and max-age, domain, httponly, secure, samesite, path.
func (c *stickyCookie) append(dst []byte, id string, now time.Time, st *vars.State) []byte {
	dst = append(dst, c.name...)
	dst = append(dst, '=')
	dst = append(dst, id...)
	switch c.exp {
	case expiresMax:
		dst = append(dst, maxExpires...)
	case expiresAfter:
		dst = append(dst, "; expires="...)
		dst = appendCookieTime(dst, now.Add(c.expires))
		dst = append(dst, "; max-age="...)
		dst = strconv.AppendInt(dst, int64(c.expires/time.Second), 10)
	}
	if c.domain != nil {
		dst = appendAttr(dst, "; domain=", c.domain, st)
	}
	if c.httpOnly {
		dst = append(dst, "; httponly"...)
	}
	if c.secure {
		dst = append(dst, "; secure"...)
	}
	if c.samesite != nil {
		dst = c.appendSameSite(dst, st)
	}
	return append(dst, c.path...)
}

// appendAttr adds prefix and t's value, or nothing when the value is empty.
func appendAttr(dst []byte, prefix string, t *vars.Template, st *vars.State) []byte {
	n := len(dst)
	dst = append(dst, prefix...)
	if v := t.Append(dst, st); len(v) > len(dst) {
		return v
	}
	return dst[:n]
}

// appendSameSite adds "; samesite=VALUE" unless the value is empty; a
// variable's value other than strict, lax or none becomes strict, as in
// NGINX Plus.
func (c *stickyCookie) appendSameSite(dst []byte, st *vars.State) []byte {
	n := len(dst)
	dst = append(dst, "; samesite="...)
	v := c.samesite.Append(dst, st)
	if len(v) == len(dst) {
		return dst[:n]
	}
	if !config.ValidSameSite(string(v[len(dst):])) {
		return append(dst, "strict"...)
	}
	return v
}

// appendCookieTime writes t as nginx's ngx_http_cookie_time does:
// "Thu, 01-Jan-26 00:00:00 GMT", the year in two digits up to 2037 and in
// four after (old browsers read no more).
func appendCookieTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	dst = append(dst, t.Weekday().String()[:3]...)
	dst = append(dst, ", "...)
	dst = appendTwo(dst, t.Day())
	dst = append(dst, '-')
	dst = append(dst, t.Month().String()[:3]...)
	dst = append(dst, '-')
	if y := t.Year(); y > 2037 {
		dst = strconv.AppendInt(dst, int64(y), 10)
	} else {
		dst = appendTwo(dst, y%100)
	}
	dst = append(dst, ' ')
	dst = appendTwo(dst, t.Hour())
	dst = append(dst, ':')
	dst = appendTwo(dst, t.Minute())
	dst = append(dst, ':')
	dst = appendTwo(dst, t.Second())
	return append(dst, " GMT"...)
}

// appendTwo writes n (0 to 99) in two digits.
func appendTwo(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// addStickyCookie adds the sticky cookie naming the server that answered to
// the client's response.
func (h *Handler) addStickyCookie(req *request) {
	s := req.target.Sticky
	if s == nil || s.cookie == nil || req.cur.srv == nil {
		return
	}
	var v string
	v, req.cookieBuf = s.setCookie(req.cur.srv, req.cur.headAt, req.st, req.cookieBuf)
	out := req.w.Header()
	out["Set-Cookie"] = append(out["Set-Cookie"], v)
}
