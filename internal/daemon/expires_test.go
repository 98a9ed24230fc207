package daemon

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
)

// TestExpiresFields: the Expires and Cache-Control values nginx 1.22.1 sent
// for each form at a known second (the same request times, file dates and
// clamping, seen with curl against nginx), computed with a fixed clock.
func TestExpiresFields(t *testing.T) {
	now := time.Date(2026, 12, 5, 15, 7, 23, 0, time.UTC).Unix()
	fileTime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
	plus2 := time.FixedZone("UTC+2", 2*3600)
	const (
		access   = config.ExpiresAccess
		modified = config.ExpiresModified
		daily    = config.ExpiresDaily
	)
	at := func(mode config.ExpiresMode, secs int64) expiry {
		return expiry{mode: mode, secs: secs, confSecs: secs}
	}
	tests := []struct {
		name     string
		ex       expiry
		lastMod  int64
		loc      *time.Location
		expires  string
		cacheCtl string
	}{
		{"1h", at(access, 3600), -1, nil, "Sat, 05 Dec 2026 16:07:23 GMT", "max-age=3600"},
		{"30d", at(access, 30*86400), fileTime, nil, "Mon, 04 Jan 2027 15:07:23 GMT", "max-age=2592000"},
		{"-1", at(access, -1), -1, nil, "Sat, 05 Dec 2026 15:07:22 GMT", "no-cache"},
		{"0", at(access, 0), -1, nil, "Sat, 05 Dec 2026 15:07:23 GMT", "max-age=0"},
		{"epoch", at(config.ExpiresEpoch, 0), -1, nil, "Thu, 01 Jan 1970 00:00:01 GMT", "no-cache"},
		{"max", at(config.ExpiresMax, 0), -1, nil, "Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000"},
		{"modified 1h of an old file", at(modified, 3600), fileTime, nil, "Thu, 02 Jan 2020 04:04:05 GMT", "no-cache"},
		{"modified -1h", at(modified, -3600), fileTime, nil, "Thu, 02 Jan 2020 02:04:05 GMT", "no-cache"},
		{"modified 0 is now", at(modified, 0), fileTime, nil, "Sat, 05 Dec 2026 15:07:23 GMT", "max-age=0"},
		{"modified without Last-Modified", at(modified, 3600), -1, nil, "Sat, 05 Dec 2026 16:07:23 GMT", "max-age=3600"},
		{"modified ahead of now", at(modified, 3600), now - 600, nil, "Sat, 05 Dec 2026 15:57:23 GMT", "max-age=3000"},
		// A negative time in the directive is no-cache whatever max-age
		// comes to; one from a variable is not (nginx reads the directive's).
		{"modified -1h of a future file", at(modified, -3600), now + 7200, nil, "Sat, 05 Dec 2026 16:07:23 GMT", "no-cache"},
		{"variable modified -1h of a future file", expiry{mode: modified, secs: -3600}, now + 7200, nil, "Sat, 05 Dec 2026 16:07:23 GMT", "max-age=3600"},
		{"@15h30m", at(daily, 15*3600+30*60), -1, time.UTC, "Sat, 05 Dec 2026 15:30:00 GMT", "max-age=1357"},
		{"@24h is midnight", at(daily, 86400), -1, time.UTC, "Sun, 06 Dec 2026 00:00:00 GMT", "max-age=31957"},
		{"@1h is tomorrow", at(daily, 3600), -1, time.UTC, "Sun, 06 Dec 2026 01:00:00 GMT", "max-age=35557"},
		{"@0 is tomorrow", at(daily, 0), -1, time.UTC, "Sun, 06 Dec 2026 00:00:00 GMT", "max-age=31957"},
		{"daily at this very second is tomorrow", at(daily, 15*3600+7*60+23), -1, time.UTC, "Sun, 06 Dec 2026 15:07:23 GMT", "max-age=86400"},
		{"daily in local time", at(daily, 15*3600+30*60), -1, plus2, "Sun, 06 Dec 2026 13:30:00 GMT", "max-age=80557"},
		{"100y", at(access, 100*365*86400), -1, nil, "Mon, 11 Nov 2126 15:07:23 GMT", "max-age=3153600000"},
		{"past 9999", at(access, 10000*365*86400), -1, nil, "Fri, 31 Dec 9999 23:59:59 GMT", "max-age=315360000000"},
		{"before 1970", at(access, -100*365*86400), -1, nil, "Thu, 01 Jan 1970 00:00:00 GMT", "no-cache"},
		{"wraps past the largest time", at(access, math.MaxInt64), -1, nil, "Thu, 01 Jan 1970 00:00:00 GMT", "max-age=9223372036854775807"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			exp, cc := expiresFields(tt.ex, now, tt.lastMod, loc)
			if exp != tt.expires || cc != tt.cacheCtl {
				t.Errorf("got Expires %q, Cache-Control %q; want %q, %q", exp, cc, tt.expires, tt.cacheCtl)
			}
		})
	}
}

// TestSafeStatus: the statuses nginx's headers filter adds expires and
// add_header (without always) to.
func TestSafeStatus(t *testing.T) {
	for code := 100; code < 600; code++ {
		want := strings.Contains(" 200 201 204 206 301 302 303 304 307 308 ", fmt.Sprintf(" %d ", code))
		if got := safeStatus(code); got != want {
			t.Errorf("safeStatus(%d) = %v, want %v", code, got, want)
		}
	}
}
