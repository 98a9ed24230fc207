package static

import (
	"net/http"
	"slices"
	"testing"
)

// TestRangeSet covers ngx_http_range_parse's answers for an 11-byte file,
// including the ones nginx 1.22.1 gave where Go's ServeContent differs
// ("-0" and "5-3,0-1").
func TestRangeSet(t *testing.T) {
	tests := []struct {
		spec    string
		size    int64
		verdict rangeVerdict
		ranges  []byteRange
	}{
		{"0-3", 11, rangeSatisfiable, []byteRange{{0, 4}}},
		{"5-", 11, rangeSatisfiable, []byteRange{{5, 11}}},
		{"-3", 11, rangeSatisfiable, []byteRange{{8, 11}}},
		{"-100", 11, rangeSatisfiable, []byteRange{{0, 11}}},
		{"0-100", 11, rangeSatisfiable, []byteRange{{0, 11}}},
		{" 0 - 1 , 3-3", 11, rangeSatisfiable, []byteRange{{0, 2}, {3, 4}}},
		{"5-3,0-1", 11, rangeSatisfiable, []byteRange{{0, 2}}},
		{"20-30,1-1", 11, rangeSatisfiable, []byteRange{{1, 2}}},
		{"0-0,0-10", 11, rangeIgnored, nil},
		{"0-1", 0, rangeIgnored, nil},
		{"-5", 0, rangeIgnored, nil},
		{"-0", 11, rangeUnsatisfiable, nil},
		{"11-", 11, rangeUnsatisfiable, nil},
		{"3-1", 11, rangeUnsatisfiable, nil},
		{"-", 11, rangeUnsatisfiable, nil},
		{"x", 11, rangeUnsatisfiable, nil},
		{"0-1;", 11, rangeUnsatisfiable, nil},
		{"0-1,", 11, rangeUnsatisfiable, nil},
		{"3-3,,4-4", 11, rangeUnsatisfiable, nil},
		{"0-99999999999999999999", 11, rangeUnsatisfiable, nil},
		{"99999999999999999999-", 11, rangeUnsatisfiable, nil},
	}
	for _, tc := range tests {
		ranges, verdict := rangeSet(tc.spec, tc.size, 0)
		if verdict != tc.verdict || !slices.Equal(ranges, tc.ranges) {
			t.Errorf("rangeSet(%q, %d) = %v %v, want %v %v", tc.spec, tc.size, ranges, verdict, tc.ranges, tc.verdict)
		}
	}
}

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

// FuzzRangeSet checks that any Range value gives ranges inside the file that
// add up to at most its size, or none.
func FuzzRangeSet(f *testing.F) {
	for _, s := range []string{"0-3", "-3", "5-", "0-1,4-5", " 1 - 2 ,3-", "-0", "x", "0-99999999999999999999"} {
		f.Add(s, int64(11))
	}
	f.Fuzz(func(t *testing.T, spec string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		ranges, verdict := rangeSet(spec, size, 0)
		if verdict != rangeSatisfiable {
			if ranges != nil {
				t.Fatalf("%v with ranges %v", verdict, ranges)
			}
			return
		}
		var total int64
		for _, r := range ranges {
			if r.start < 0 || r.start >= r.end || r.end > size {
				t.Fatalf("range %v outside a %d-byte file", r, size)
			}
			total += r.end - r.start
		}
		if len(ranges) == 0 || total > size {
			t.Fatalf("%d ranges of %d bytes for a %d-byte file", len(ranges), total, size)
		}
	})
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
