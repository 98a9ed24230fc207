package htpasswd

import (
	"crypto/md5"
	"strings"
)

// cryptAlphabet is crypt(3)'s base64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendCrypt64 appends the n low 6-bit groups of v, least significant first.
func appendCrypt64(dst []byte, v uint32, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, cryptAlphabet[v&0x3f])
		v >>= 6
	}
	return dst
}

// cryptSalt is the salt of setting after its magic: up to max bytes, ending
// at '$'.
func cryptSalt(setting string, max int) string {
	s := setting
	if i := strings.IndexByte(s, '$'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// md5Crypt is Poul-Henning Kamp's MD5-crypt with magic "$1$" (glibc) or
// "$apr1$" (Apache, nginx's ngx_crypt_apr1): the same algorithm, the magic
// mixed in. setting is a full hash or "magic salt"; the salt is at most 8
// bytes.
func md5Crypt(password, setting, magic string) string {
	pw := []byte(password)
	salt := []byte(cryptSalt(setting[len(magic):], 8))

	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	h := md5.New()
	h.Write(pw)
	h.Write([]byte(magic))
	h.Write(salt)
	for n := len(pw); n > 0; n -= 16 {
		h.Write(altSum[:min(n, 16)])
	}
	for n := len(pw); n != 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	final := h.Sum(nil)

	// 1000 rounds to slow down brute force, as the algorithm specifies.
	final = stretch(md5.New, 1000, final, pw, salt)

	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	for _, g := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = appendCrypt64(out, uint32(final[g[0]])<<16|uint32(final[g[1]])<<8|uint32(final[g[2]]), 4)
	}
	out = appendCrypt64(out, uint32(final[11]), 2)
	return string(out)
}
