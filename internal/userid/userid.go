// Package userid is nginx's ngx_http_userid_filter_module without the
// request plumbing: the 16-byte identifier (UID) and its issuing (Generator),
// reading a cookie's value (Decode) and writing the Set-Cookie value
// (AppendCookie), byte for byte as nginx 1.22 does.
package userid

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"fulcrum/internal/config"
)

// UID is an identifier as nginx keeps it in memory: four 32-bit words,
// in network byte order in the "on" format, in the machine's in "v1".
type UID [16]byte

// Valid reports whether the identifier counts as one: nginx tests that the
// last word is not 0.
func (u *UID) Valid() bool {
	return u[12]|u[13]|u[14]|u[15] != 0
}

// AppendVar appends $uid_got's or $uid_set's value: name, "=" and the four
// words in hex as nginx prints them with %08XD, each word read in the
// machine's byte order (little-endian: x86 and ARM, where nginx runs).
func (u *UID) AppendVar(dst []byte, name string) []byte {
	dst = append(dst, name...)
	dst = append(dst, '=')
	const hex = "0123456789ABCDEF"
	for i := 0; i < 16; i += 4 {
		w := binary.LittleEndian.Uint32(u[i:])
		for shift := 28; shift >= 0; shift -= 4 {
			dst = append(dst, hex[w>>uint(shift)&0xf])
		}
	}
	return dst
}

// The errors of Decode, as nginx logs them.
var (
	ErrShort   = errors.New("client sent too short userid cookie")
	ErrInvalid = errors.New("client sent invalid userid cookie")
)

// decodeMap maps the standard base64 alphabet to its values; 0xff marks
// the other bytes.
var decodeMap = func() (m [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// Decode reads a cookie's value as nginx does: only its first 22
// characters, for a mark may follow them and many old cookies end in
// garbage instead of "=="; a value shorter than that is ErrShort. They are
// decoded as ngx_decode_base64 decodes: up to the first '=' (the bytes past
// it stay 0), a byte outside the standard alphabet before it, or a length
// that leaves one character over, is ErrInvalid. A UID decoded without
// error may still not be Valid.
func Decode(value string) (UID, error) {
	var u UID
	if len(value) < 22 {
		return u, ErrShort
	}
	src := value[:22]
	n := 0
	for ; n < len(src) && src[n] != '='; n++ {
		if decodeMap[src[n]] == 0xff {
			return u, ErrInvalid
		}
	}
	if n%4 == 1 {
		return u, ErrInvalid
	}
	d := 0
	s := src[:n]
	for len(s) > 3 {
		a, b, c, e := decodeMap[s[0]], decodeMap[s[1]], decodeMap[s[2]], decodeMap[s[3]]
		u[d], u[d+1], u[d+2] = a<<2|b>>4, b<<4|c>>2, c<<6|e
		d, s = d+3, s[4:]
	}
	if len(s) > 1 {
		u[d] = decodeMap[s[0]]<<2 | decodeMap[s[1]]>>4
		d++
	}
	if len(s) > 2 {
		u[d] = decodeMap[s[1]]<<4 | decodeMap[s[2]]>>2
	}
	return u, nil
}

// Marked reports whether a received cookie's value carries mark: nginx
// compares its 23rd and 24th characters with the mark and '='.
func Marked(value string, mark byte) bool {
	return len(value) > 23 && value[22] == mark && value[23] == '='
}

// The first values of nginx's sequencers.
const (
	firstV1 = 1
	firstOn = 0x03030302
	seqStep = 0x100
)

// Generator issues identifiers: what nginx keeps per worker process (the
// start value and the two sequencers), kept per fulcrum process by its
// owner, so that identifiers stay unique across reloads. It is safe for
// concurrent use.
type Generator struct {
	start uint32
	v1    atomic.Uint32 // the next "v1" sequence number, less firstV1
	on    atomic.Uint32 // the next "on" sequence number, less firstOn
}

// NewGenerator returns a generator whose start value is nginx's: the
// microseconds of started over 20, shifted left 16 bits, ORed with pid.
func NewGenerator(started time.Time, pid int) *Generator {
	usec := uint32(started.Nanosecond() / 1000)
	return &Generator{start: usec/20<<16 | uint32(pid)}
}

// nextOn returns the "on" sequence number and steps it as nginx does: by
// 0x100, back to its first value when it wraps below it.
func (g *Generator) nextOn() uint32 {
	for {
		off := g.on.Load()
		n := firstOn + off
		next := n + seqStep
		if next < firstOn {
			next = firstOn
		}
		if g.on.CompareAndSwap(off, next-firstOn) {
			return n
		}
	}
}

// New issues an identifier for a request at time now in the level's mode
// (UseridV1 or UseridOn): the service (the level's userid_service; without
// one, local's IPv4 address, or the last 4 bytes of an IPv6 one, in "on"
// mode and 0 in "v1"), the time, the start value and the next sequence
// number.
func (g *Generator) New(set *config.Userid, local netip.Addr, now time.Time) UID {
	var u UID
	secs := uint32(now.Unix())
	if set.Mode == config.UseridV1 {
		seq := g.v1.Add(seqStep) - seqStep + firstV1
		binary.LittleEndian.PutUint32(u[0:], set.Service) // 0 when not set
		binary.LittleEndian.PutUint32(u[4:], secs)
		binary.LittleEndian.PutUint32(u[8:], g.start)
		binary.LittleEndian.PutUint32(u[12:], seq)
		return u
	}
	switch {
	case set.ServiceSet:
		binary.BigEndian.PutUint32(u[0:], set.Service)
	case local.Is4() || local.Is4In6():
		a := local.Unmap().As4()
		copy(u[0:4], a[:])
	case local.Is6():
		a := local.As16()
		copy(u[0:4], a[12:])
	}
	binary.BigEndian.PutUint32(u[4:], secs)
	binary.BigEndian.PutUint32(u[8:], g.start)
	binary.BigEndian.PutUint32(u[12:], g.nextOn())
	return u
}

// maxExpires is "userid_expires max"'s attribute, a fixed date.
const maxExpires = "; expires=Thu, 31-Dec-37 23:55:55 GMT"

// AppendCookie appends the Set-Cookie value nginx sends for set at time
// now: NAME=, then the identifier u in base64 with the mark in place of
// the first padding '=', or, when resend is the received value of a valid
// cookie sent again for a new mark, its first 22 characters, the mark and
// '='; then expires, domain, path and the flags, in nginx's order.
func AppendCookie(dst []byte, set *config.Userid, u *UID, resend string, now time.Time) []byte {
	dst = append(dst, set.Name...)
	dst = append(dst, '=')
	if resend == "" {
		start := len(dst)
		dst = base64.StdEncoding.AppendEncode(dst, u[:])
		if set.Mark != 0 {
			dst[start+22] = set.Mark
		}
	} else {
		dst = append(dst, resend[:22]...)
		dst = append(dst, set.Mark, '=')
	}
	switch {
	case set.Expires == config.UseridMaxExpires:
		dst = append(dst, maxExpires...)
	case set.Expires != 0:
		dst = append(dst, "; expires="...)
		dst = appendCookieTime(dst, now.Unix()+set.Expires)
	}
	dst = append(dst, set.Domain...)
	dst = append(dst, set.Path...)
	for _, f := range flagWords {
		if set.Flags&f.bit != 0 {
			dst = append(dst, f.word...)
		}
	}
	return dst
}

// flagWords are userid_flags' attributes in the order nginx appends them.
var flagWords = []struct {
	bit  int
	word string
}{
	{config.UseridSecure, "; secure"},
	{config.UseridHTTPOnly, "; httponly"},
	{config.UseridSameSiteStrict, "; samesite=strict"},
	{config.UseridSameSiteLax, "; samesite=lax"},
	{config.UseridSameSiteNone, "; samesite=none"},
}

// appendCookieTime appends ngx_http_cookie_time's date: a two-digit year
// up to 2037 (for Netscape 3), four digits after.
func appendCookieTime(dst []byte, secs int64) []byte {
	t := time.Unix(secs, 0).UTC()
	dst = append(dst, t.Format("Mon, 02-Jan-")...)
	if y := t.Year(); y > 2037 {
		dst = strconv.AppendInt(dst, int64(y), 10)
	} else {
		dst = append(dst, byte('0'+y/10%10), byte('0'+y%10))
	}
	return append(dst, t.Format(" 15:04:05 GMT")...)
}
