package static

import (
	"net/http"
	"testing"
)

// TestMatchETag covers ngx_http_test_if_match: If-Match compares strongly,
// If-None-Match (weak) also takes a "W/" tag.
func TestMatchETag(t *testing.T) {
	const tag = `"65937d25-2"`
	tests := []struct {
		list string
		weak bool
		want bool
	}{
		{`"65937d25-2"`, false, true},
		{`*`, false, true},
		{`"x", "65937d25-2"`, false, true},
		{`"x",,  "65937d25-2" `, false, true},
		{`W/"65937d25-2"`, false, false},
		{`W/"65937d25-2"`, true, true},
		{`"x", W/"65937d25-2"`, true, true},
		{`"65937d25-2"x`, true, false},
		{`"65937d25-22"`, true, false},
		{``, false, false},
		{`"x"`, true, false},
	}
	for _, tc := range tests {
		if got := matchETag(tc.list, tag, tc.weak); got != tc.want {
			t.Errorf("matchETag(%q, weak %v) = %v, want %v", tc.list, tc.weak, got, tc.want)
		}
	}
}

// TestSingleRange covers nginx's range filter with single_range, as for a
// memcached value of 11 bytes: one range is 206, several send the whole
// value (nginx declines at the second one read), a malformed or
// unsatisfiable one is 416, and an If-Range never matches a response
// without validators.
func TestSingleRange(t *testing.T) {
	tests := []struct {
		rng, ifRange string
		start, end   int64
		status       int
	}{
		{"", "", 0, 11, 200},
		{"bytes=2-4", "", 2, 5, 206},
		{"bytes=-3", "", 8, 11, 206},
		{"bytes=5-", "", 5, 11, 206},
		{"BYTES=0-0", "", 0, 1, 206},
		{"bytes=0-1,3-4", "", 0, 11, 200},
		{"bytes=0-1,3-4,x", "", 0, 11, 200},
		{"bytes=0-1,x", "", 0, 11, 416},
		{"bytes=20-30", "", 0, 11, 416},
		{"bytes=x", "", 0, 11, 416},
		{"items=0-1", "", 0, 11, 200},
		{"bytes=0-1", `"tag"`, 0, 11, 200},
		{"bytes=0-1", "Sat, 05 Dec 2026 22:00:00 GMT", 0, 11, 200},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.rng != "" {
			h.Set("Range", tc.rng)
		}
		if tc.ifRange != "" {
			h.Set("If-Range", tc.ifRange)
		}
		start, end, status := SingleRange(h, 11)
		if status != tc.status || status == 206 && (start != tc.start || end != tc.end) {
			t.Errorf("Range %q If-Range %q: %d [%d, %d), want %d [%d, %d)", tc.rng, tc.ifRange, status, start, end, tc.status, tc.start, tc.end)
		}
	}
}

// TestTaggedRange checks the range filter nginx applies to the whole
// response of a sliced request (one range, If-Range against the
// response's ETag or Last-Modified), as nginx 1.22.1 answered it.
func TestTaggedRange(t *testing.T) {
	const lm = "Tue, 02 Jan 2024 03:04:05 GMT"
	tests := []struct {
		rng, ifRange, etag, lastModified string
		start, end                       int64
		status                           int
	}{
		{"", "", `"v1"`, lm, 0, 3500, 200},
		{"bytes=1500-1600", "", `"v1"`, lm, 1500, 1601, 206},
		{"bytes=-300", "", `"v1"`, lm, 3200, 3500, 206},
		{"bytes=3500-", "", `"v1"`, lm, 0, 3500, 416},
		{"bytes=abc", "", `"v1"`, lm, 0, 3500, 416},
		{"bytes=0-0,2000-2001", "", `"v1"`, lm, 0, 3500, 200},
		{"bytes=1500-1600", `"v1"`, `"v1"`, lm, 1500, 1601, 206},
		{"bytes=1500-1600", `"v0"`, `"v1"`, lm, 0, 3500, 200},
		{"bytes=1500-1600", `"v1"`, "", lm, 0, 3500, 200},
		{"bytes=1500-1600", `W/"v1"`, `W/"v1"`, lm, 1500, 1601, 206},
		{"bytes=1500-1600", lm, `"v1"`, lm, 1500, 1601, 206},
		{"bytes=1500-1600", "Wed, 03 Jan 2024 03:04:05 GMT", `"v1"`, lm, 0, 3500, 200},
		{"bytes=1500-1600", lm, `"v1"`, "", 0, 3500, 200},
		{"bytes=1500-1600", "yesterday", `"v1"`, lm, 0, 3500, 200},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.rng != "" {
			h.Set("Range", tc.rng)
		}
		if tc.ifRange != "" {
			h.Set("If-Range", tc.ifRange)
		}
		start, end, status := TaggedRange(h, tc.etag, tc.lastModified, 3500)
		if status != tc.status || status == 206 && (start != tc.start || end != tc.end) {
			t.Errorf("Range %q If-Range %q (ETag %q, Last-Modified %q): %d [%d, %d), want %d [%d, %d)",
				tc.rng, tc.ifRange, tc.etag, tc.lastModified, status, start, end, tc.status, tc.start, tc.end)
		}
	}
}
