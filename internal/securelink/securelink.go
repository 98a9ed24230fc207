// Package securelink implements the checks of nginx's
// ngx_http_secure_link_module, behind $secure_link.
//
// The MD5 form (secure_link and secure_link_md5) takes the link's value,
// "hash[,expires]", apart with [SplitLink] and [ParseExpires], decodes the
// hash with [DecodeHash], and compares it with the MD5 of secure_link_md5's
// value in [Verdict]. The caller evaluates the two expressions in that
// order, because secure_link_md5's may read $secure_link_expires, which
// the expiry sets. The secret form (secure_link_secret) is [Secret].
package securelink

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
)

// maxHash is the longest hash text nginx decodes: 24 base64 characters.
const maxHash = 24

// SplitLink splits secure_link's value at its first comma into the hash
// and the expiry text; hasExpires is false when there is no comma.
func SplitLink(v []byte) (hash, expires []byte, hasExpires bool) {
	return bytes.Cut(v, []byte{','})
}

// ParseExpires parses the expiry text as nginx's ngx_atotm: decimal digits
// only, seconds since the epoch. ok is false for an empty text, any other
// byte, an overflow, or 0, which all make $secure_link not found.
func ParseExpires(v []byte) (sec int64, ok bool) {
	if len(v) == 0 {
		return 0, false
	}
	const cutoff = (1<<63 - 1) / 10
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if sec > cutoff || sec == cutoff && d > (1<<63-1)%10 {
			return 0, false
		}
		sec = sec*10 + d
	}
	return sec, sec > 0
}

// DecodeHash decodes the link's hash as nginx's ngx_decode_base64url: the
// URL alphabet ('-' and '_'), padding optional, and the first '=' ends the
// text. ok is false unless it decodes to the 16 bytes of an MD5.
func DecodeHash(v []byte) (sum [md5.Size]byte, ok bool) {
	if len(v) > maxHash {
		return sum, false
	}
	if i := bytes.IndexByte(v, '='); i >= 0 {
		v = v[:i]
	}
	var buf [maxHash]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], v)
	if err != nil || n != md5.Size {
		return sum, false
	}
	copy(sum[:], buf[:n])
	return sum, true
}

// Verdict compares hash with the MD5 of input (secure_link_md5's value) and
// returns $secure_link's value: "1" when they match, "0" when they match
// but the link expired (expires, when not 0, is before now, both in
// seconds since the epoch), and ok false (not found) when they differ.
func Verdict(hash [md5.Size]byte, input []byte, expires, now int64) (value string, ok bool) {
	sum := md5.Sum(input)
	if subtle.ConstantTimeCompare(sum[:], hash[:]) != 1 {
		return "", false
	}
	if expires != 0 && expires < now {
		return "0", true
	}
	return "1", true
}

// Secret checks the secret form on the request target as received
// (nginx's unparsed URI, arguments included): "/prefix/hash/link", where
// hash is the MD5 of link followed by secret, in hex of either case. It
// returns link, $secure_link's value, or ok false (not found).
func Secret(target, secret string) (link string, ok bool) {
	if len(target) < 1 {
		return "", false
	}
	p := target[1:]
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return "", false
	}
	p = p[i+1:]
	j := strings.IndexByte(p, '/')
	if j != 2*md5.Size {
		return "", false
	}
	hexHash, link := p[:j], p[j+1:]
	if link == "" {
		return "", false
	}
	h := md5.New()
	io.WriteString(h, link)
	io.WriteString(h, secret)
	got, err := hex.DecodeString(hexHash) // either case, as nginx
	if err != nil || subtle.ConstantTimeCompare(got, h.Sum(nil)) != 1 {
		return "", false
	}
	return link, true
}
