package vars

import (
	"math"
	"strconv"
)

// InvalidLimitRateError is a "set $limit_rate" whose value is not a size.
// Its text is nginx's; the limit stays what it was.
type InvalidLimitRateError struct {
	// Value is the value set gave.
	Value string
}

func (e *InvalidLimitRateError) Error() string {
	return `invalid $limit_rate "` + e.Value + `"`
}

// ParseSize parses a size as nginx's ngx_parse_size does: decimal digits
// with an optional k or m (either case) for KiB and MiB, at most 2^63-1
// bytes. ok is false for anything else (the empty string, a sign, a g).
// limit_rate's and limit_rate_after's values with variables, and "set
// $limit_rate", are parsed with it per request.
func ParseSize(s []byte) (n int64, ok bool) {
	if len(s) == 0 {
		return 0, false
	}
	scale := int64(1)
	switch s[len(s)-1] | 0x20 {
	case 'k':
		scale, s = 1<<10, s[:len(s)-1]
	case 'm':
		scale, s = 1<<20, s[:len(s)-1]
	}
	n, ok = parseDigits(s)
	if !ok || n > math.MaxInt64/scale {
		return 0, false
	}
	return n * scale, true
}

// parseDigits parses decimal digits as nginx's ngx_atoi does: at least
// one, nothing else, at most 2^63-1.
func parseDigits[T ~string | ~[]byte](s T) (n int64, ok bool) {
	if len(s) == 0 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// AccelLimitRate applies an upstream's X-Accel-Limit-Rate field, as
// nginx's ngx_http_upstream_process_limit_rate does for every upstream
// module (proxy, fastcgi, scgi, uwsgi): a number of bytes a second
// (digits, no unit: ngx_atoi) becomes the request's limit in place of the
// location's limit_rate, 0 lifting it; anything else is ignored. The
// caller leaves it out under *_ignore_headers X-Accel-Limit-Rate.
func (st *State) AccelLimitRate(value string) {
	if n, ok := parseDigits(value); ok {
		st.LimitRate, st.LimitRateSet = n, true
	}
}

// Unlimit lifts the request's limit for a response nginx reads unbuffered
// (*_buffering off, or X-Accel-Buffering: no): ngx_http_upstream_send_response
// sets r->limit_rate to 0 and marks it set, so neither the location's
// limit_rate nor an X-Accel-Limit-Rate paces it.
func (st *State) Unlimit() {
	st.LimitRate, st.LimitRateSet = 0, true
}

// setLimitRate is set's handler of $limit_rate (nginx's
// ngx_http_variable_set_limit_rate): a size becomes the request's limit, in
// place of the location's limit_rate; anything else leaves it as it was.
func setLimitRate(st *State, value []byte) error {
	n, ok := ParseSize(value)
	if !ok {
		return &InvalidLimitRateError{Value: string(value)}
	}
	st.LimitRate, st.LimitRateSet = n, true
	return nil
}

// getLimitRate is $limit_rate: the request's limit in bytes per second. As
// in nginx, it is 0 until a set, an upstream's X-Accel-Limit-Rate or the
// response's first bytes (which take the location's limit_rate) give it a
// value, so add_header sees 0 where the access log sees the limit.
func getLimitRate(dst []byte, st *State) ([]byte, bool) {
	return strconv.AppendInt(dst, st.LimitRate, 10), true
}
