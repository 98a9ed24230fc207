package daemon

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// The fixed values of "expires epoch" and "expires max", as nginx sends them.
const (
	expiresEpochDate = "Thu, 01 Jan 1970 00:00:01 GMT"
	expiresMaxDate   = "Thu, 31 Dec 2037 23:55:55 GMT"
	expiresMaxAge    = "max-age=315360000" // ten years
)

// lastHTTPTime is the last second nginx's ngx_http_time writes: it clamps
// later times to 9999-12-31 23:59:59 and earlier ones than the epoch to it.
const lastHTTPTime = 253402300799

// safeStatus reports whether nginx's headers filter adds expires and the
// add_header fields without "always" to a response with this status.
func safeStatus(code int) bool {
	switch code {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}

// compileExpires compiles the expires values with variables of every server
// and location; levels without one have no entry and are never looked up.
func (s *snapshot) compileExpires(comp *vars.Compiler) error {
	return walkSettings(s.cfg.HTTP.Servers, func(set *config.Settings) error {
		e := &set.Expires
		if e.Value == "" {
			return nil
		}
		if _, done := s.expiresValues[set]; done {
			return nil
		}
		t, err := comp.Compile(e.Value)
		if err != nil {
			return fmt.Errorf("%w in %s", err, e.Pos)
		}
		if s.expiresValues == nil {
			s.expiresValues = map[*config.Settings]*vars.Template{}
		}
		s.expiresValues[set] = t
		return nil
	})
}

// setExpires applies the level's expires directive to a response nginx's
// headers filter considers (safeStatus), as ngx_http_set_expires does: it
// replaces the value of an Expires field the response has (an upstream's, in
// its place) or adds one, keeps the first Cache-Control field with the new
// value and drops the others, or adds one. A value with variables that
// evaluates to "off" or to something nginx cannot parse adds nothing.
func (w *recorder) setExpires(h http.Header) {
	e := &w.set.Expires
	mode, secs := e.Mode, e.Time
	if e.Value != "" {
		t := w.snap.expiresValues[w.set]
		if t == nil {
			return
		}
		m, n, err := config.ParseExpires(t.String(w.st), e.Mode == config.ExpiresModified)
		if err != nil || m == config.ExpiresOff {
			return
		}
		mode, secs = m, n
	}
	now := w.snap.now()
	lastMod := int64(-1)
	if mode == config.ExpiresModified {
		lastMod = lastModified(h)
	}
	exp, cc := expiresFields(expiry{mode: mode, secs: secs, confSecs: e.Time}, now.Unix(), lastMod, now.Location())
	w.pinFields()
	if v := h["Expires"]; len(v) > 0 {
		v[len(v)-1] = exp // nginx keeps the last one it copied
	} else {
		h["Expires"] = []string{exp}
		w.placeField("Expires", "Expires")
	}
	if v := h["Cache-Control"]; len(v) > 0 {
		v[0] = cc
		h["Cache-Control"] = v[:1:1]
		if w.ew != nil {
			w.ew.dropOrder("Cache-Control", 1)
		}
	} else {
		h["Cache-Control"] = []string{cc}
		w.placeField("Cache-Control", "Cache-Control")
	}
	if _, ok := h["Date"]; !ok {
		// The Date the response goes out with is the second the
		// expiry was counted from, as nginx's cached time makes it.
		h["Date"] = []string{now.UTC().Format(http.TimeFormat)}
	}
}

// lastModified is the response's Last-Modified time in seconds, as nginx's
// last_modified_time: from the last Last-Modified field, -1 when there is
// none or it is not a date.
func lastModified(h http.Header) int64 {
	v := h["Last-Modified"]
	if len(v) == 0 {
		return -1
	}
	t, err := http.ParseTime(v[len(v)-1])
	if err != nil {
		return -1
	}
	return t.Unix()
}

// expiry is what one response's expires asks for.
type expiry struct {
	mode config.ExpiresMode
	// secs is the offset or time of day (config.Expires.Time, or what a
	// value with variables parsed to).
	secs int64
	// confSecs is the directive's own Time (0 for a value with variables):
	// nginx sends "no-cache" when it is negative, whatever max-age comes to.
	confSecs int64
}

// expiresFields returns the Expires and Cache-Control values of ex for a
// response sent at now (Unix seconds) whose Last-Modified is lastMod (-1 for
// none), with loc the local time zone of a time of day (nginx's mktime). It
// follows ngx_http_set_expires: a zero offset is now and max-age=0 (also
// after "modified"); an offset after "modified" counts from Last-Modified
// when there is one; a negative max-age, or a negative offset in the
// directive, is "no-cache".
func expiresFields(ex expiry, now, lastMod int64, loc *time.Location) (expires, cacheControl string) {
	switch ex.mode {
	case config.ExpiresEpoch:
		return expiresEpochDate, "no-cache"
	case config.ExpiresMax:
		return expiresMaxDate, expiresMaxAge
	}
	if ex.secs == 0 && ex.mode != config.ExpiresDaily {
		return httpTime(now), "max-age=0"
	}
	var at, maxAge int64
	switch {
	case ex.mode == config.ExpiresDaily:
		at = nextTime(ex.secs, now, loc)
		maxAge = at - now
	case ex.mode == config.ExpiresAccess || lastMod == -1:
		maxAge = ex.secs
		at = ex.secs + now // wraps past the largest time as nginx's time_t does
	default:
		at = ex.secs + lastMod
		maxAge = at - now
	}
	if ex.confSecs < 0 || maxAge < 0 {
		return httpTime(at), "no-cache"
	}
	return httpTime(at), "max-age=" + strconv.FormatInt(maxAge, 10)
}

// httpTime formats Unix seconds as an HTTP date the way ngx_http_time does:
// times before the epoch as the epoch, times after 9999 as its last second.
func httpTime(t int64) string {
	t = min(max(t, 0), lastHTTPTime)
	return time.Unix(t, 0).UTC().Format(http.TimeFormat)
}

// nextTime is the next moment, after now, at which the local time of day is
// when seconds after midnight (ngx_next_time): today's if it is still ahead,
// else tomorrow's. 24h is the coming midnight.
func nextTime(when, now int64, loc *time.Location) int64 {
	y, m, d := time.Unix(now, 0).In(loc).Date()
	h, mi, s := int(when/3600), int(when%3600/60), int(when%60)
	if next := time.Date(y, m, d, h, mi, s, 0, loc).Unix(); next > now {
		return next
	}
	return time.Date(y, m, d+1, h, mi, s, 0, loc).Unix()
}
