package cacherule

import (
	"math"
	"net/http"
	"strings"
)

// PassesRange is *_cache_max_range_offset (nginx's
// ngx_http_upstream_cache_check_range) for a request the cache does not
// answer, by its first Range field in h: true when the request
// is to go to the upstream with its Range (and its other conditional
// fields) and its response is not to be stored, as nginx then clears
// u->cacheable. Without the directive every request may be cached. With
// 0, any Range does (whatever its unit); otherwise a "bytes=" range whose
// first start is at the offset or beyond does, and so does a suffix range
// ("bytes=-500"), whose start nginx does not know before the response. A
// start without digits, or one too large to read, is not judged (nginx's
// ngx_atoof fails and the request stays cacheable).
func (r *Rule) PassesRange(h http.Header) bool {
	set := r.Set
	vs := h["Range"]
	if len(vs) == 0 || !set.LimitRanges {
		return false
	}
	rangeField := vs[0]
	if set.MaxRangeOffset == 0 {
		return true
	}
	if len(rangeField) < 7 || !strings.EqualFold(rangeField[:6], "bytes=") {
		return false
	}
	s := strings.TrimLeft(rangeField[6:], " ")
	if strings.HasPrefix(s, "-") {
		return true
	}
	start, ok := leadingOffset(s)
	return ok && start >= set.MaxRangeOffset
}

// leadingOffset reads the digits s starts with as ngx_atoof does: false
// for none, or for a number past the largest offset.
func leadingOffset(s string) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, i > 0
}
