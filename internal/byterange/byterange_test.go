package byterange

import (
	"slices"
	"testing"
)

// TestParse covers ngx_http_range_parse's answers for an 11-byte file,
// including the ones nginx 1.22.1 gave where Go's ServeContent differs
// ("-0" and "5-3,0-1").
func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		size    int64
		verdict Verdict
		ranges  []ByteRange
	}{
		{"0-3", 11, Satisfiable, []ByteRange{{0, 4}}},
		{"5-", 11, Satisfiable, []ByteRange{{5, 11}}},
		{"-3", 11, Satisfiable, []ByteRange{{8, 11}}},
		{"-100", 11, Satisfiable, []ByteRange{{0, 11}}},
		{"0-100", 11, Satisfiable, []ByteRange{{0, 11}}},
		{" 0 - 1 , 3-3", 11, Satisfiable, []ByteRange{{0, 2}, {3, 4}}},
		{"5-3,0-1", 11, Satisfiable, []ByteRange{{0, 2}}},
		{"20-30,1-1", 11, Satisfiable, []ByteRange{{1, 2}}},
		{"0-0,0-10", 11, Ignored, nil},
		{"0-1", 0, Ignored, nil},
		{"-5", 0, Ignored, nil},
		{"-0", 11, Unsatisfiable, nil},
		{"11-", 11, Unsatisfiable, nil},
		{"3-1", 11, Unsatisfiable, nil},
		{"-", 11, Unsatisfiable, nil},
		{"x", 11, Unsatisfiable, nil},
		{"0-1;", 11, Unsatisfiable, nil},
		{"0-1,", 11, Unsatisfiable, nil},
		{"3-3,,4-4", 11, Unsatisfiable, nil},
		{"0-99999999999999999999", 11, Unsatisfiable, nil},
		{"99999999999999999999-", 11, Unsatisfiable, nil},
	}
	for _, tc := range tests {
		ranges, verdict := Parse(tc.spec, tc.size, 0)
		if verdict != tc.verdict || !slices.Equal(ranges, tc.ranges) {
			t.Errorf("Parse(%q, %d) = %v %v, want %v %v", tc.spec, tc.size, ranges, verdict, tc.ranges, tc.verdict)
		}
	}
}

// FuzzParse checks that any Range value gives ranges inside the file that
// add up to at most its size, or none.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0-3", "-3", "5-", "0-1,4-5", " 1 - 2 ,3-", "-0", "x", "0-99999999999999999999"} {
		f.Add(s, int64(11))
	}
	f.Fuzz(func(t *testing.T, spec string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		ranges, verdict := Parse(spec, size, 0)
		if verdict != Satisfiable {
			if ranges != nil {
				t.Fatalf("%v with ranges %v", verdict, ranges)
			}
			return
		}
		var total int64
		for _, r := range ranges {
			if r.Start < 0 || r.Start >= r.End || r.End > size {
				t.Fatalf("range %v outside a %d-byte file", r, size)
			}
			total += r.End - r.Start
		}
		if len(ranges) == 0 || total > size {
			t.Fatalf("%d ranges of %d bytes for a %d-byte file", len(ranges), total, size)
		}
	})
}
