package cacherule

import (
	"iter"
	"net/http"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/cache"
	"fulcrum/internal/config"
)

// lines yields the "Name: value" lines of head in order.
func lines(head string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for line := range strings.SplitSeq(head, "\n") {
			name, v, ok := strings.Cut(line, ": ")
			if ok && !yield(name, v) {
				return
			}
		}
	}
}

// TestBuffered: whether nginx 1.22.1 stored a response, by proxy_buffering
// and X-Accel-Buffering (recorded: the second request was a HIT or not).
func TestBuffered(t *testing.T) {
	tests := []struct {
		head              string
		buffering, ignore bool
		want              bool
	}{
		{"", true, false, true},
		{"", false, false, false},
		{"X-Accel-Buffering: no", true, false, false},
		{"X-Accel-Buffering: No", true, false, false},
		{"X-Accel-Buffering: off", true, false, true},
		{"X-Accel-Buffering: yes", false, false, true},
		{"X-Accel-Buffering: YES", false, false, true},
		{"X-Accel-Buffering: no\nX-Accel-Buffering: yes", false, false, true},
		{"X-Accel-Buffering: no", true, true, true},
	}
	for _, tt := range tests {
		if got := Buffered(lines(tt.head), tt.buffering, tt.ignore); got != tt.want {
			t.Errorf("Buffered(%q, buffering %v, ignore %v) = %v, want %v", tt.head, tt.buffering, tt.ignore, got, tt.want)
		}
	}
}

// TestVary: nginx 1.22.1 keys variants by the last Vary field (recorded:
// with "Vary: Accept" then "Vary: X-A", a request with another Accept and
// the same X-A was a HIT).
func TestVary(t *testing.T) {
	tests := map[string]string{
		"":                                   "",
		"Vary: Accept":                       "Accept",
		"Vary: Accept\nX-B: 1\nvary: X-A":    "X-A",
		"Vary: Accept, Cookie\nVary: Origin": "Origin",
	}
	for head, want := range tests {
		if got := Vary(lines(head)); got != want {
			t.Errorf("Vary(%q) = %q, want %q", head, got, want)
		}
	}
}

// TestValidators: what nginx 1.22.1 sent upstream when it revalidated an
// expired entry (proxy_cache_revalidate on; recorded from the backend).
func TestValidators(t *testing.T) {
	e126, e127 := `"`+strings.Repeat("e", 126)+`"`, `"`+strings.Repeat("e", 127)+`"`
	tests := []struct {
		status        int
		lm, etag      string
		wantIMS, want string
	}{
		{200, "Thu, 01 Jan 2015 00:00:00 GMT", `"e1"`, "Thu, 01 Jan 2015 00:00:00 GMT", `"e1"`},
		{200, "Thursday, 01-Jan-15 00:00:00 GMT", "", "Thu, 01 Jan 2015 00:00:00 GMT", ""},
		{200, "Thu Jan  1 00:00:00 2015", "", "Thu, 01 Jan 2015 00:00:00 GMT", ""},
		{200, "yesterday", "", "", ""},
		{200, "", e126, "", e126},
		{200, "", e127, "", ""},
		{206, "", `"p"`, "", `"p"`},
		{301, "Thu, 01 Jan 2015 00:00:00 GMT", `"p"`, "", ""},
		{404, "", `"e1"`, "", ""},
	}
	for _, tt := range tests {
		ims, inm := Validators(tt.status, tt.lm, tt.etag)
		if ims != tt.wantIMS || inm != tt.want {
			t.Errorf("Validators(%d, %q, %q) = %q, %q; want %q, %q", tt.status, tt.lm, tt.etag, ims, inm, tt.wantIMS, tt.want)
		}
	}
}

// TestFieldsStale: the stale-* times nginx 1.22 reads from Cache-Control,
// and the fields it skips (recorded: an X-Accel-Expires before the
// Cache-Control left stale-if-error without effect, a 502).
func TestFieldsStale(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		head string
		set  config.CacheSettings
		want StaleTimes
	}{
		{"Cache-Control: max-age=1, stale-if-error=30", config.CacheSettings{}, StaleTimes{Error: 30 * time.Second}},
		{"Cache-Control: max-age=1, stale-while-revalidate=30", config.CacheSettings{}, StaleTimes{Updating: 30 * time.Second, Error: 30 * time.Second}},
		{"Cache-Control: stale-while-revalidate=30, stale-if-error=5", config.CacheSettings{}, StaleTimes{Updating: 30 * time.Second, Error: 5 * time.Second}},
		{"X-Accel-Expires: 1\nCache-Control: stale-if-error=30", config.CacheSettings{}, StaleTimes{}},
		{"Cache-Control: stale-if-error=30\nX-Accel-Expires: 1", config.CacheSettings{}, StaleTimes{Error: 30 * time.Second}},
		{"Cache-Control: stale-if-error=30", config.CacheSettings{IgnoreCacheControl: true}, StaleTimes{}},
	}
	for _, tt := range tests {
		if got := FieldsStale(&tt.set, lines(tt.head), now); got != tt.want {
			t.Errorf("FieldsStale(%q) = %+v, want %+v", tt.head, got, tt.want)
		}
	}
}

// TestStaleWindows: an expired entry answers within its stale times,
// counted in whole seconds past its expiry, its fields read as when it
// was stored (FieldsStale) (recorded from nginx 1.22.1: an Expires one second
// after the store, then Cache-Control stale-if-error=30, answered a failed
// exchange three seconds later with the entry, STALE).
func TestStaleWindows(t *testing.T) {
	stored := time.Unix(1_800_000_000, 0)
	expires := stored.Add(time.Second)
	at := expires.Format("Mon, 02 Jan 2006 15:04:05 GMT")
	tests := []struct {
		head              string
		after             time.Duration // past the expiry
		updating, onError bool
	}{
		{"Cache-Control: max-age=1, stale-while-revalidate=30", 2 * time.Second, true, true},
		{"Cache-Control: max-age=1, stale-while-revalidate=30", 30 * time.Second, true, true},
		{"Cache-Control: max-age=1, stale-while-revalidate=30", 31 * time.Second, false, false},
		{"Cache-Control: max-age=1, stale-if-error=2", 2*time.Second + 900*time.Millisecond, false, true},
		{"Cache-Control: max-age=1, stale-if-error=2", 3 * time.Second, false, false},
		{"Expires: " + at + "\nCache-Control: stale-if-error=30", 2 * time.Second, false, true},
		{"Cache-Control: max-age=1", 2 * time.Second, false, false},
	}
	for _, tt := range tests {
		m := cache.Meta{Stored: stored, Expires: expires, Stale: FieldsStale(&config.CacheSettings{}, lines(tt.head), stored)}
		updating, onError := StaleWindows(m, expires.Add(tt.after))
		if updating != tt.updating || onError != tt.onError {
			t.Errorf("StaleWindows(%q) %v after expiry = %v, %v; want %v, %v", tt.head, tt.after, updating, onError, tt.updating, tt.onError)
		}
	}
}

// TestRevalidate: the expiry and stale times an entry gets from a 304 to
// its revalidation, as nginx 1.22.1 gave them (recorded with proxy_cache
// and fastcgi_cache, proxy_cache_revalidate on: an entry stored with
// max-age=1, revalidated by a 304 two seconds later, then asked for when
// expired again with the upstream failing: STALE with a stale-if-error
// time, else 502; proxy_cache_valid's row is read from nginx's source).
func TestRevalidate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	sie := 100 * time.Second
	tests := []struct {
		name                string
		notModified, stored string
		valid               []config.CacheValid // proxy_cache_valid
		expires             time.Duration       // from now; 0 for not refreshed
		stale               StaleTimes
	}{
		{"the 304's max-age and stale-if-error", "Cache-Control: max-age=1, stale-if-error=100", "Cache-Control: max-age=1",
			nil, time.Second, StaleTimes{Error: sie}},
		{"the 304's max-age drops the stored stale-if-error", "Cache-Control: max-age=1", "Cache-Control: max-age=1, stale-if-error=100",
			nil, time.Second, StaleTimes{}},
		{"a 304 without fields: the stored ones", "ETag: \"e\"", "Cache-Control: max-age=1, stale-if-error=100",
			nil, time.Second, StaleTimes{Error: sie}},
		{"the 304's stale-if-error alone adds to the stored max-age", "Cache-Control: stale-if-error=100", "Cache-Control: max-age=1",
			nil, time.Second, StaleTimes{Error: sie}},
		{"a stored stale-* replaces the 304's", "Cache-Control: stale-while-revalidate=100", "Cache-Control: max-age=1, stale-if-error=0",
			nil, time.Second, StaleTimes{Updating: sie}},
		{"the 304's Expires", "Expires: " + now.Add(time.Minute).Format(http.TimeFormat), "Cache-Control: max-age=1",
			nil, time.Minute, StaleTimes{}},
		{"no time in either: proxy_cache_valid", "Cache-Control: stale-if-error=100", "ETag: \"e\"",
			[]config.CacheValid{{Codes: []int{200}, Time: time.Hour}}, time.Hour, StaleTimes{Error: sie}},
		{"no time at all: not refreshed", "", "ETag: \"e\"", nil, 0, StaleTimes{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &config.CacheSettings{Valid: tt.valid}
			expires, stale, ok := Revalidate(set, lines(tt.notModified), lines(tt.stored), http.StatusOK, now)
			if ok != (tt.expires != 0) || (ok && !expires.Equal(now.Add(tt.expires))) {
				t.Errorf("expires %v (%v), want %v from now", expires, ok, tt.expires)
			}
			if stale != tt.stale {
				t.Errorf("stale times %+v, want %+v", stale, tt.stale)
			}
		})
	}
}
