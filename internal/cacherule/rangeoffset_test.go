package cacherule

import (
	"net/http"
	"testing"

	"fulcrum/internal/config"
)

// TestPassesRange: ngx_http_upstream_cache_check_range's verdicts.
func TestPassesRange(t *testing.T) {
	tests := []struct {
		name   string
		limit  bool
		offset int64
		ranges []string // the request's Range fields; nil: none
		want   bool
	}{
		{"no directive", false, 0, []string{"bytes=0-"}, false},
		{"no Range", true, 10, nil, false},
		{"before the offset", true, 10, []string{"bytes=9-20"}, false},
		{"at the offset", true, 10, []string{"bytes=10-20"}, true},
		{"beyond it", true, 10, []string{"bytes=1000-"}, true},
		{"only the first range counts", true, 10, []string{"bytes=0-1,20-30"}, false},
		{"only the first field counts", true, 10, []string{"bytes=0-1", "bytes=20-30"}, false},
		{"spaces before the start", true, 10, []string{"bytes=   20-"}, true},
		{"unit in any case", true, 10, []string{"BYTES=20-"}, true},
		{"a suffix range", true, 10, []string{"bytes=-1"}, true},
		{"another unit", true, 10, []string{"items=20-"}, false},
		{"too short", true, 10, []string{"bytes="}, false},
		{"no digits", true, 10, []string{"bytes=x-"}, false},
		{"too large to read", true, 10, []string{"bytes=99999999999999999999-"}, false},
		{"0: any Range", true, 0, []string{"items=1-2"}, true},
		{"0: even an empty one", true, 0, []string{""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Rule{Set: &config.CacheSettings{LimitRanges: tt.limit, MaxRangeOffset: tt.offset}}
			h := http.Header{}
			if tt.ranges != nil {
				h["Range"] = tt.ranges
			}
			if got := r.PassesRange(h); got != tt.want {
				t.Errorf("PassesRange(%q) with %d = %v, want %v", tt.ranges, tt.offset, got, tt.want)
			}
		})
	}
}
