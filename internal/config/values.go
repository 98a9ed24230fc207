package config

import (
	"errors"
	"math"
	"strings"
	"time"
)

// errBadValue is returned by the value parsers; callers turn it into nginx's message
// for the directive at hand.
var errBadValue = errors.New("invalid value")

// maxInt32 bounds the numbers that fulcrum keeps in an int (counts, ports).
const maxInt32 = math.MaxInt32

// parseSize parses a size as ngx_parse_size does: a decimal number of bytes with an
// optional k or m suffix (either case). nginx's "size" directives (buffers) do not
// take g; see parseOffset.
func parseSize(s string) (int64, error) {
	return parseScaled(s, "km")
}

// parseOffset parses a size as ngx_parse_offset does: like parseSize, and g (either
// case) is allowed too. client_max_body_size is an offset.
func parseOffset(s string) (int64, error) {
	return parseScaled(s, "kmg")
}

// parseScaled parses digits followed by at most one unit from units ("k", "m", "g").
func parseScaled(s, units string) (int64, error) {
	if s == "" {
		return 0, errBadValue
	}
	scale := int64(1)
	switch c := s[len(s)-1] | 0x20; {
	case c == 'k' && strings.IndexByte(units, 'k') >= 0:
		scale = 1 << 10
	case c == 'm' && strings.IndexByte(units, 'm') >= 0:
		scale = 1 << 20
	case c == 'g' && strings.IndexByte(units, 'g') >= 0:
		scale = 1 << 30
	}
	if scale != 1 {
		s = s[:len(s)-1]
	}
	n, err := parseNumber(s)
	if err != nil || n > math.MaxInt64/scale {
		return 0, errBadValue
	}
	return n * scale, nil
}

// parseNumber parses a non-negative decimal integer as ngx_atoi does: digits only,
// no sign, no spaces.
func parseNumber(s string) (int64, error) {
	if s == "" {
		return 0, errBadValue
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadValue
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, errBadValue
		}
		n = n*10 + d
	}
	return n, nil
}

// parseFlag parses "on" or "off", in any case, as ngx_conf_set_flag_slot does.
func parseFlag(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "on"):
		return true, nil
	case strings.EqualFold(s, "off"):
		return false, nil
	}
	return false, errBadValue
}

// timeUnits are ngx_parse_time's units: the letter, its rank (units must come from
// the largest to the smallest) and its length in seconds.
var timeUnits = map[byte]struct {
	rank int
	secs int64
}{
	'y': {1, 365 * 24 * 3600}, 'M': {2, 30 * 24 * 3600}, 'w': {3, 7 * 24 * 3600},
	'd': {4, 24 * 3600}, 'h': {5, 3600}, 'm': {6, 60}, 's': {7, 1},
}

// The ranks of ngx_parse_time's steps that are not letters.
const (
	rankMonth = 2 // where a msec time starts: y and M are not allowed
	rankSec   = 7
	rankMsec  = 8
	rankLast  = 9 // after "N ": only digits may follow
)

// parseTime parses a time as ngx_parse_time does. With sec false (a "msec" directive
// such as proxy_read_timeout) the units ms, s, m, h, d and w are allowed; with sec
// true (such as fail_timeout) ms is not, and M (30 days) and y (365 days) are. Units
// are case-sensitive and must come from the largest to the smallest, each at most
// once ("1h30m", "1m 30s"); a bare number is seconds, and so are trailing digits
// ("1m30"). Like nginx, a total that overflows a 64-bit count of the directive's
// unit is an error; so is one longer than a time.Duration holds (292 years).
func parseTime(s string, sec bool) (time.Duration, error) {
	p := timeParser{sec: sec}
	if !sec {
		p.rank = rankMonth
	}
	if err := p.parse(s); err != nil {
		return 0, err
	}
	return p.duration()
}

// parseSeconds parses a time in seconds as ngx_parse_time(s, 1) does, with
// nginx's whole range (any count of seconds a 64-bit number holds), for the
// expires directive.
func parseSeconds(s string) (int64, error) {
	p := timeParser{sec: true}
	if err := p.parse(s); err != nil {
		return 0, err
	}
	return p.total, nil
}

// parse reads all of s and adds the trailing digits (seconds) to the total.
func (p *timeParser) parse(s string) error {
	for p.i < len(s) {
		if err := p.step(s); err != nil {
			return err
		}
	}
	if !p.valid {
		return errBadValue
	}
	return p.add(p.rank, p.scale(1))
}

// timeParser holds the state of parseTime.
type timeParser struct {
	sec   bool
	i     int   // the next byte
	rank  int   // the rank of the last unit
	value int64 // digits read since the last unit
	valid bool  // at least one digit seen
	total int64 // in the directive's unit (ms or s)
}

// step consumes one digit, or one unit and the spaces after it.
func (p *timeParser) step(s string) error {
	c := s[p.i]
	p.i++
	if c >= '0' && c <= '9' {
		if p.value > (math.MaxInt64-int64(c-'0'))/10 {
			return errBadValue
		}
		p.value = p.value*10 + int64(c-'0')
		p.valid = true
		return nil
	}
	rank, scale, err := p.unit(s, c)
	if err != nil {
		return err
	}
	if err := p.add(rank, scale); err != nil {
		return err
	}
	for p.i < len(s) && s[p.i] == ' ' {
		p.i++
	}
	return nil
}

// unit returns the rank of the unit c (with "ms" read as one) and its length in
// the directive's unit.
func (p *timeParser) unit(s string, c byte) (int, int64, error) {
	switch {
	case c == 'm' && p.i < len(s) && s[p.i] == 's':
		p.i++
		if p.sec || p.rank >= rankMsec {
			return 0, 0, errBadValue
		}
		return rankMsec, 1, nil
	case c == ' ':
		if p.rank >= rankSec {
			return 0, 0, errBadValue
		}
		return rankLast, p.scale(1), nil
	}
	u, ok := timeUnits[c]
	if !ok || p.rank >= u.rank {
		return 0, 0, errBadValue
	}
	return u.rank, p.scale(u.secs), nil
}

// scale converts seconds to the directive's unit.
func (p *timeParser) scale(secs int64) int64 {
	if p.sec {
		return secs
	}
	return secs * 1000
}

// add adds the digits read times scale to the total, refusing overflow.
func (p *timeParser) add(rank int, scale int64) error {
	if p.value > math.MaxInt64/scale {
		return errBadValue
	}
	v := p.value * scale
	if p.total > math.MaxInt64-v {
		return errBadValue
	}
	p.rank, p.total, p.value = rank, p.total+v, 0
	return nil
}

// duration converts the parsed total to a Duration.
func (p *timeParser) duration() (time.Duration, error) {
	unit := time.Millisecond
	if p.sec {
		unit = time.Second
	}
	if p.total > math.MaxInt64/int64(unit) {
		return 0, errBadValue
	}
	return time.Duration(p.total) * unit, nil
}
