package cacherule

import (
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/httptime"
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
// Set-Cookie, a Vary of "*" alone or longer than 128 bytes and an Expires
// in the past make the response not cacheable (false); s-maxage or
// max-age, else Expires, set its freshness. It returns the zero time when
// the fields say nothing of it. set's Ignore* fields (*_ignore_headers)
// skip fields; an ignored X-Accel-Expires still makes a Cache-Control after
// a time from Expires count for nothing, as nginx notes the field before
// it asks whether to ignore it.
func FieldsExpiry(set *config.CacheSettings, fields iter.Seq2[string, string], now time.Time) (time.Time, bool) {
	valid, _, ok := readFields(set, fields, now, StaleTimes{})
	return valid, ok
}

// StaleTimes is what a response's Cache-Control field says of answering with it
// once it expired (RFC 5861, as nginx 1.22 reads it): stale-while-revalidate
// lets it answer for Updating past its expiry while a request updates it
// (as *_cache_use_stale updating) and for Error on an error;
// stale-if-error sets Error alone. An error is a failed exchange
// (*_cache_use_stale error, timeout...), not a status: nginx 1.22.1
// answered a 500 and a 404 as they came. An entry keeps them
// (cache.Meta.Stale) as nginx keeps them in its header: read once, when
// the response is stored (FieldsStale), or when a 304 revalidates it
// (Revalidate).
type StaleTimes = cache.Stale

// FieldsStale is the StaleTimes of a response's fields as it is stored:
// the last Cache-Control that FieldsExpiry reads (not one it skips after
// an X-Accel-Expires, nor an ignored one) and that names them.
func FieldsStale(set *config.CacheSettings, fields iter.Seq2[string, string], now time.Time) StaleTimes {
	_, st, _ := readFields(set, fields, now, StaleTimes{})
	return st
}

// StaleWindows reports whether an expired entry with meta m is still
// within its stale-while-revalidate (updating) and stale-if-error
// (staleError) times (m.Stale) at now, counted in whole seconds past
// m.Expires as nginx counts them (ngx_http_file_cache_read).
func StaleWindows(m cache.Meta, now time.Time) (updating, staleError bool) {
	within := func(d time.Duration) bool {
		return d > 0 && now.Unix() <= m.Expires.Unix()+int64(d/time.Second)
	}
	return within(m.Stale.Updating), within(m.Stale.Error)
}

// Revalidate is what a 304 to a revalidation (*_cache_revalidate) makes of
// an expired entry whose stored response has status and the fields
// stored: its new expiry and stale times, false when it stays expired.
// nginx 1.22 (ngx_http_upstream_test_next) reads the 304's fields first,
// from no times at all: when they give an expiry, it and the stale times
// they name are the entry's. Else the stored fields are read again over
// the stale times the 304 named (a stale-* of the stored Cache-Control
// replaces the 304's, one it lacks leaves the 304's), and the expiry is
// theirs, else *_cache_valid's for status. Recorded from nginx 1.22.1
// (proxy_cache and fastcgi_cache): a 304 with "max-age=1,
// stale-if-error=100" to an entry stored without stale-if-error let a
// failed exchange after the new expiry answer with the entry (STALE); a
// 304 with max-age=1 alone to one stored with stale-if-error=100 did not
// (502); a 304 with stale-if-error=100 alone, or none, left the stored
// max-age=1 and added or kept the stale-if-error (STALE).
func Revalidate(set *config.CacheSettings, notModified, stored iter.Seq2[string, string], status int, now time.Time) (time.Time, StaleTimes, bool) {
	valid, st, _ := readFields(set, notModified, now, StaleTimes{})
	if !valid.IsZero() {
		return valid, st, true
	}
	valid, st, _ = readFields(set, stored, now, st)
	if !valid.IsZero() {
		return valid, st, true
	}
	if d := ValidFor(set.Valid, status); d > 0 {
		return now.Add(d), st, true
	}
	return time.Time{}, st, false
}

// readFields is FieldsExpiry, with the StaleTimes of the fields, read
// over stale (those the fields do not name stay as they were).
func readFields(set *config.CacheSettings, fields iter.Seq2[string, string], now time.Time, stale StaleTimes) (time.Time, StaleTimes, bool) {
	var valid time.Time
	sawXAE := false
	for name, v := range fields {
		if strings.EqualFold(name, "X-Accel-Expires") {
			sawXAE = true
		}
		switch {
		case strings.EqualFold(name, "X-Accel-Expires") && !set.IgnoreXAccelExpires:
			t, ok := accelExpires(v, now)
			if !ok {
				return time.Time{}, stale, false
			}
			if !t.IsZero() {
				valid = t
			}
		case strings.EqualFold(name, "Cache-Control") && !set.IgnoreCacheControl:
			if !valid.IsZero() && sawXAE {
				continue
			}
			t, ok := cacheControl(v, now, &stale)
			if !ok {
				return time.Time{}, stale, false
			}
			if !t.IsZero() {
				valid = t
			}
		case strings.EqualFold(name, "Expires") && !set.IgnoreExpires:
			if !valid.IsZero() {
				continue
			}
			// nginx: not cacheable when "expires < ngx_time()", in
			// seconds; an Expires of this second is stored.
			t, ok := httptime.Parse(v)
			if !ok || t.Unix() < now.Unix() {
				return time.Time{}, stale, false
			}
			valid = t
		case strings.EqualFold(name, "Set-Cookie") && !set.IgnoreSetCookie:
			return time.Time{}, stale, false
		case strings.EqualFold(name, "Vary") && !set.IgnoreVary:
			if v == "*" || len(v) > varyMax {
				return time.Time{}, stale, false
			}
		}
	}
	return valid, stale, true
}

// varyMax is nginx's NGX_HTTP_CACHE_VARY_LEN: a longer Vary field makes
// the response not cacheable.
const varyMax = 128

// Vary is the Vary field a response is stored under: the last one, as
// nginx 1.22 keeps one Vary field and each replaces the one before.
func Vary(fields iter.Seq2[string, string]) string {
	var vary string
	for name, v := range fields {
		if strings.EqualFold(name, "Vary") {
			vary = v
		}
	}
	return vary
}

// accelExpires reads X-Accel-Expires: false for 0 (never cache), the zero
// time for a value nginx skips (not a number as ngx_atoi reads it: digits
// only, no sign or space) and for "@0".
func accelExpires(v string, now time.Time) (time.Time, bool) {
	if at, ok := strings.CutPrefix(v, "@"); ok {
		if n, ok := atoi(at); ok && n > 0 {
			return time.Unix(n, 0), true
		}
		return time.Time{}, true
	}
	n, ok := atoi(v)
	switch {
	case !ok:
		return time.Time{}, true
	case n == 0:
		return time.Time{}, false
	}
	return now.Add(time.Duration(n) * time.Second), true
}

// atoi is nginx's ngx_atoi: a non-empty run of decimal digits that does
// not overflow; false for anything else (a sign, a space, a letter).
func atoi(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// cacheControl reads a Cache-Control value as nginx 1.22 does: false for
// no-cache, no-store, private, a max-age that is zero or not a number, or a
// stale-while-revalidate or stale-if-error that is not a number; else the
// expiry s-maxage (or max-age) gives, zero without one. The stale-* times
// it names go to *stale.
func cacheControl(v string, now time.Time, stale *StaleTimes) (time.Time, bool) {
	lv := strings.ToLower(v)
	if strings.Contains(lv, "no-cache") || strings.Contains(lv, "no-store") || strings.Contains(lv, "private") {
		return time.Time{}, false
	}
	var valid time.Time
	i, skip := strings.Index(lv, "s-maxage="), len("s-maxage=")
	if i < 0 {
		i, skip = strings.Index(lv, "max-age="), len("max-age=")
	}
	if i >= 0 {
		n, ok := ccSeconds(lv[i+skip:])
		if !ok || n == 0 {
			return time.Time{}, false
		}
		valid = now.Add(n)
	}
	if n, found, ok := ccDirective(lv, "stale-while-revalidate="); !ok {
		return time.Time{}, false
	} else if found {
		stale.Updating, stale.Error = n, n
	}
	if n, found, ok := ccDirective(lv, "stale-if-error="); !ok {
		return time.Time{}, false
	} else if found {
		stale.Error = n
	}
	return valid, true
}

// ccDirective finds the directive name (with its "=") in a lower-cased
// Cache-Control value and reads its seconds: found false without it, ok
// false when they are not a number.
func ccDirective(lv, name string) (d time.Duration, found, ok bool) {
	i := strings.Index(lv, name)
	if i < 0 {
		return 0, false, true
	}
	d, ok = ccSeconds(lv[i+len(name):])
	return d, true, ok
}

// ccSeconds reads the digits of a Cache-Control directive's value up to a
// ',', ';' or ' ' (or the end) as nginx does; false for another byte.
func ccSeconds(v string) (time.Duration, bool) {
	var n int64
	for _, ch := range []byte(v) {
		if ch == ',' || ch == ';' || ch == ' ' {
			break
		}
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	return time.Duration(n) * time.Second, true
}

// Buffered reports whether nginx reads the response buffered, which its
// cache and its *_store need (an unbuffered response is not stored, in
// either): buffering is
// *_buffering, which an X-Accel-Buffering field of "no" turns off and one
// of "yes" on (the last one counts), unless ignore (*_ignore_headers
// X-Accel-Buffering).
func Buffered(fields iter.Seq2[string, string], buffering, ignore bool) bool {
	if ignore {
		return buffering
	}
	for name, v := range fields {
		if !strings.EqualFold(name, "X-Accel-Buffering") {
			continue
		}
		switch {
		case strings.EqualFold(v, "no"):
			buffering = false
		case strings.EqualFold(v, "yes"):
			buffering = true
		}
	}
	return buffering
}

// etagMax is nginx's NGX_HTTP_CACHE_ETAG_LEN: a longer ETag is not kept
// with an entry, and so not sent when it is revalidated.
const etagMax = 128

// Validators are the If-Modified-Since and If-None-Match of the
// revalidation (*_cache_revalidate) of an entry that stored a response with
// status and the fields Last-Modified and ETag, as nginx 1.22 keeps them:
// for a 200 or 206 only; the date as nginx writes it (a Last-Modified
// httptime.Parse cannot read gives none), the ETag when it is 128 bytes at most. Empty
// strings mean the field is not sent.
func Validators(status int, lastModified, etag string) (ims, inm string) {
	if status != http.StatusOK && status != http.StatusPartialContent {
		return "", ""
	}
	if lastModified != "" {
		if t, ok := httptime.Parse(lastModified); ok {
			ims = t.UTC().Format(http.TimeFormat)
		}
	}
	if len(etag) <= etagMax {
		inm = etag
	}
	return ims, inm
}
