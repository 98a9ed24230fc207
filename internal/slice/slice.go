// Package slice is the arithmetic of nginx's slice module
// (ngx_http_slice_filter_module.c): where a request starts being fetched
// in slices, the Range each slice asks for ($slice_range), the checks a
// slice's response must pass, and the window of the object the client
// gets. It knows nothing of requests and writers; the daemon drives it.
//
// A request is sliced once something reads $slice_range while the level
// serving it has "slice SIZE" (above 0): the first slice is the aligned
// one holding the first byte the client asked for. Each slice's answer
// must be a 206 whose Content-Range starts where the slice does and ends
// SIZE bytes later or at the object's end; the first one's is turned into
// a 200 of the whole object, on which the client's own Range (one range
// at most) is applied. The slices that follow are fetched one after the
// other until the client's bytes are all sent; one whose ETag differs
// from the first's, or whose range is not the expected one, ends the
// response.
package slice

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"fulcrum/internal/byterange"
)

// Context is one request's slice state (nginx's ngx_http_slice_ctx_t).
// The zero Context is inactive; Begin starts it.
type Context struct {
	size int64
	// start is the first byte of the slice to fetch next (after Accept:
	// of the slice after the one accepted); end is where the bytes the
	// client wants end (known once the first slice is accepted).
	start, end int64
	// etag is the first slice's ETag that carried one (hasETag), which
	// every later slice must carry too.
	etag    string
	hasETag bool
	// rng is $slice_range: "bytes=START-LAST" of the slice being fetched.
	rng []byte
	// on reports a started Context; accepted that the slice being fetched
	// had its answer accepted (nginx's ctx->active).
	on, accepted bool
}

// Begin starts slicing a request with slices of size bytes (above 0).
// rangeField is the client's Range field (present tells whether it sent
// one) and ifRange whether it sent If-Range: the first slice is the one
// holding the start of that range, as ngx_http_slice_get_start reads it
// (nginx starts at 0 for an If-Range, a suffix range or several ranges).
// The buffer of $slice_range is kept from an earlier use of c.
func (c *Context) Begin(size int64, rangeField string, present, ifRange bool) {
	var first int64
	if present && !ifRange {
		first = firstByte(rangeField)
	}
	start := size * (first / size)
	if start > math.MaxInt64-size {
		start = 0
	}
	*c = Context{size: size, start: start, rng: c.rng[:0], on: true}
	c.setRange()
}

// Reset makes c inactive, keeping its buffer.
func (c *Context) Reset() { *c = Context{rng: c.rng[:0]} }

// Active reports whether the request is being sliced.
func (c *Context) Active() bool { return c.on }

// Range is $slice_range: "bytes=START-LAST" of the slice being fetched. It
// is valid until the next call to Next, Begin or Reset.
func (c *Context) Range() []byte { return c.rng }

// setRange writes $slice_range for the slice starting at c.start.
func (c *Context) setRange() {
	b := append(c.rng[:0], "bytes="...)
	b = strconv.AppendInt(b, c.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, c.start+c.size-1, 10)
	c.rng = b
}

// firstByte is ngx_http_slice_get_start without the If-Range test: the
// first byte a "bytes=" Range value (any case) asks for, 0 for anything
// else (another unit, several ranges, a suffix range, an overflow).
func firstByte(v string) int64 {
	if len(v) < 7 || !strings.EqualFold(v[:6], "bytes=") {
		return 0
	}
	p := v[6:]
	for i := 0; i < len(p); i++ {
		if p[i] == ',' {
			return 0
		}
	}
	i := 0
	for i < len(p) && p[i] == ' ' {
		i++
	}
	var n int64
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		d := int64(p[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0
		}
		n = n*10 + d
	}
	return n
}

// Part is the part of the object a slice's answer holds: the bytes
// [Start, End) of Total.
type Part struct {
	Start, End, Total int64
}

// ErrNotPartial is an answer to the first slice that is not a 206: nginx
// then stops slicing and passes the answer on as it is.
var ErrNotPartial = errors.New("not a slice response")

// Accept checks the answer to the slice being fetched (nginx's slice
// header filter): its status, its ETag (etag, when hasETag) and its
// Content-Range (contentRange, when hasRange). first says the answer is
// the main request's (the first slice), whose non-206 status is
// ErrNotPartial. Any other error is one nginx logs, with its words, and
// ends the response with. On success the next slice starts where this one
// ends.
func (c *Context) Accept(first bool, status int, etag string, hasETag bool, contentRange string, hasRange bool) (Part, error) {
	if status != 206 {
		if first {
			return Part{}, ErrNotPartial
		}
		return Part{}, fmt.Errorf("unexpected status code %d in slice response", status)
	}
	if c.hasETag && (!hasETag || etag != c.etag) {
		return Part{}, errors.New("etag mismatch in slice response")
	}
	if hasETag {
		c.etag, c.hasETag = etag, true
	}
	var p Part
	var ok bool
	if hasRange {
		p, ok = ParseContentRange(contentRange)
	}
	if !ok {
		return Part{}, errors.New("invalid range in slice response")
	}
	if p.Total < 0 {
		return Part{}, errors.New("no complete length in slice response")
	}
	end := min(p.Start+c.size, p.Total)
	if p.Start != c.start || p.End != end {
		// nginx 1.22.1's words: the range received, not the one expected.
		return Part{}, fmt.Errorf("unexpected range in slice response: %d-%d", p.Start, p.End)
	}
	c.start, c.accepted = end, true
	return p, nil
}

// Want records the bytes [from, to) of the object that the client is to
// get, once the first slice is accepted and the client's Range applied to
// it: nginx fetches slices up to to, and, when the range starts past the
// slice after the first, goes straight to the one that holds from (a
// suffix range, a range behind an If-Range).
func (c *Context) Want(from, to int64) {
	if c.start+c.size <= from {
		c.start = c.size * (from / c.size)
	}
	c.end = to
}

// More reports whether Next would ready another slice.
func (c *Context) More() bool { return c.on && c.accepted && c.start < c.end }

// Next readies the next slice's $slice_range and reports whether one is
// to be fetched: false once the accepted slices cover what the client
// wants, or when the last slice's answer was not accepted.
func (c *Context) Next() bool {
	if !c.More() {
		return false
	}
	c.accepted = false
	c.setRange()
	return true
}

// Accepted reports whether the answer to the slice being fetched was
// accepted.
func (c *Context) Accepted() bool { return c.accepted }

// ParseContentRange reads a Content-Range value as
// ngx_http_slice_parse_content_range does: "bytes START-LAST/TOTAL",
// spaces allowed around the numbers, TOTAL "*" for unknown (Total -1).
// End is LAST+1.
func ParseContentRange(v string) (Part, bool) {
	if len(v) < 7 || v[:6] != "bytes " {
		return Part{}, false
	}
	s := scanner{s: v, i: 6}
	var p Part
	var ok bool
	s.spaces()
	if p.Start, ok = s.number(); !ok {
		return Part{}, false
	}
	s.spaces()
	if !s.take('-') {
		return Part{}, false
	}
	s.spaces()
	last, ok := s.number()
	if !ok {
		return Part{}, false
	}
	p.End = last + 1
	s.spaces()
	if !s.take('/') {
		return Part{}, false
	}
	s.spaces()
	if s.take('*') {
		p.Total = -1
	} else if p.Total, ok = s.number(); !ok {
		return Part{}, false
	}
	s.spaces()
	if s.i != len(s.s) {
		return Part{}, false
	}
	return p, true
}

// scanner reads a Content-Range value.
type scanner struct {
	s string
	i int
}

func (s *scanner) spaces() {
	for s.i < len(s.s) && s.s[s.i] == ' ' {
		s.i++
	}
}

func (s *scanner) take(c byte) bool {
	if s.i < len(s.s) && s.s[s.i] == c {
		s.i++
		return true
	}
	return false
}

// number reads at least one digit; false without one or on overflow.
func (s *scanner) number() (int64, bool) {
	start := s.i
	var n int64
	for ; s.i < len(s.s) && s.s[s.i] >= '0' && s.s[s.i] <= '9'; s.i++ {
		d := int64(s.s[s.i] - '0')
		if n > (math.MaxInt64-1-d)/10 { // LAST+1 must not overflow either
			return 0, false
		}
		n = n*10 + d
	}
	return n, s.i > start
}

// Window passes on the bytes [From, To) of an object whose bytes are
// written in order, the first written being byte Pos (byterange.Window,
// which the range filter of the caches uses too).
type Window = byterange.Window
