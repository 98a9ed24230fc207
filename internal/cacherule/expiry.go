package cacherule

import (
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
)

// Expiry decides whether a response may be stored and until when: the
// fields first (FieldsExpiry); without a time from them, *_cache_valid for
// its status; false when neither allows it.
func Expiry(set *config.CacheSettings, fields iter.Seq2[string, string], status int, now time.Time) (time.Time, bool) {
	valid, ok := FieldsExpiry(set, fields, now)
	if !ok || !valid.IsZero() {
		return valid, ok
	}
	if d := ValidFor(set.Valid, status); d > 0 {
		return now.Add(d), true
	}
	return time.Time{}, false
}

// FieldsExpiry is the expiry the response's fields give, read in the order
// received as nginx 1.22 does: X-Accel-Expires (seconds, "@" and a Unix
// time, 0 for never) wins over Cache-Control when it came first;
// Cache-Control no-cache, no-store or private, a zero or malformed max-age,
// Set-Cookie, Vary: * and an Expires in the past make the response not
// cacheable (false); s-maxage or max-age, else Expires, set its freshness.
// It returns the zero time when the fields say nothing of it. set's
// Ignore* fields (*_ignore_headers) skip fields.
func FieldsExpiry(set *config.CacheSettings, fields iter.Seq2[string, string], now time.Time) (time.Time, bool) {
	var valid time.Time
	sawXAE := false
	for name, v := range fields {
		switch {
		case strings.EqualFold(name, "X-Accel-Expires") && !set.IgnoreXAccelExpires:
			sawXAE = true
			t, ok := accelExpires(v, now)
			if !ok {
				return time.Time{}, false
			}
			if !t.IsZero() {
				valid = t
			}
		case strings.EqualFold(name, "Cache-Control") && !set.IgnoreCacheControl:
			if !valid.IsZero() && sawXAE {
				continue
			}
			t, ok := cacheControl(v, now)
			if !ok {
				return time.Time{}, false
			}
			if !t.IsZero() {
				valid = t
			}
		case strings.EqualFold(name, "Expires") && !set.IgnoreExpires:
			if !valid.IsZero() {
				continue
			}
			t, err := http.ParseTime(v)
			if err != nil || !t.After(now) {
				return time.Time{}, false
			}
			valid = t
		case strings.EqualFold(name, "Set-Cookie") && !set.IgnoreSetCookie:
			return time.Time{}, false
		case strings.EqualFold(name, "Vary") && !set.IgnoreVary:
			if strings.IndexByte(v, '*') >= 0 {
				return time.Time{}, false
			}
		}
	}
	return valid, true
}

// accelExpires reads X-Accel-Expires: false for 0 (never cache), the zero
// time for a value nginx skips (not a number, negative).
func accelExpires(v string, now time.Time) (time.Time, bool) {
	if at, ok := strings.CutPrefix(v, "@"); ok {
		if n, err := strconv.ParseInt(at, 10, 64); err == nil {
			return time.Unix(n, 0), true
		}
		return time.Time{}, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n < 0:
		return time.Time{}, true
	case n == 0:
		return time.Time{}, false
	}
	return now.Add(time.Duration(n) * time.Second), true
}

// cacheControl reads a Cache-Control value as nginx 1.22 does: false for
// no-cache, no-store, private, or a max-age that is zero or not a number;
// else the expiry s-maxage (or max-age) gives, zero without one.
func cacheControl(v string, now time.Time) (time.Time, bool) {
	lv := strings.ToLower(v)
	if strings.Contains(lv, "no-cache") || strings.Contains(lv, "no-store") || strings.Contains(lv, "private") {
		return time.Time{}, false
	}
	i, skip := strings.Index(lv, "s-maxage="), len("s-maxage=")
	if i < 0 {
		i, skip = strings.Index(lv, "max-age="), len("max-age=")
	}
	if i < 0 {
		return time.Time{}, true
	}
	var n int64
	for _, ch := range []byte(lv[i+skip:]) {
		if ch == ',' || ch == ';' || ch == ' ' {
			break
		}
		if ch < '0' || ch > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(ch-'0')
	}
	if n == 0 {
		return time.Time{}, false
	}
	return now.Add(time.Duration(n) * time.Second), true
}
