package static

import (
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
		ranges, verdict := rangeSet(tc.spec, tc.size)
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
		ranges, verdict := rangeSet(spec, size)
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
