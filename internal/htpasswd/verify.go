package htpasswd

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ErrUnsupported is a hash in a crypt(3) scheme that nginx would hand to the
// C library and fulcrum cannot check: DES, yescrypt ($y$), scrypt ($7$) and
// the like. The caller refuses the request.
var ErrUnsupported = errors.New("password hash scheme not supported")

// Verify reports whether password matches hash, a password field of a user
// file, as ngx_crypt followed by nginx's strcmp decides: the hash computed
// from password with hash's scheme and salt must equal hash exactly. Both
// strings end at their first NUL byte, as C strings do.
//
// A hash that is no scheme at all ("*", "!", "") matches nothing, as the C
// library's failure token does; a hash that looks like a crypt(3) scheme
// fulcrum does not implement gives ErrUnsupported.
func Verify(password, hash string) (bool, error) {
	password, hash = cString(password), cString(hash)
	switch {
	case strings.HasPrefix(hash, "$apr1$"):
		return equal(md5Crypt(password, hash, "$apr1$"), hash), nil
	case strings.HasPrefix(hash, "{PLAIN}"):
		return equal("{PLAIN}"+password, hash), nil
	case strings.HasPrefix(hash, "{SSHA}"):
		return equal(sshaHash(password, hash), hash), nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(password))
		return equal("{SHA}"+base64.StdEncoding.EncodeToString(sum[:]), hash), nil
	case strings.HasPrefix(hash, "$1$"):
		return equal(md5Crypt(password, hash, "$1$"), hash), nil
	case strings.HasPrefix(hash, "$5$"):
		return equal(shaCrypt(password, hash, sha256Spec), hash), nil
	case strings.HasPrefix(hash, "$6$"):
		return equal(shaCrypt(password, hash, sha512Spec), hash), nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, nil
	case isDES(hash) || strings.HasPrefix(hash, "$") || strings.HasPrefix(hash, "_"):
		return false, ErrUnsupported
	}
	return false, nil
}

// cString is s up to its first NUL byte.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// equal compares in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sshaHash is ngx_crypt_ssha: the salt is what follows the 20-byte SHA-1
// digest in the base64 of hash; the result is "{SSHA}" and the base64 of
// SHA-1(password salt) followed by salt. A hash that does not decode gives
// "", which matches nothing.
func sshaHash(password, hash string) string {
	raw, err := base64.StdEncoding.DecodeString(hash[len("{SSHA}"):])
	if err != nil || len(raw) < sha1.Size {
		return ""
	}
	salt := raw[sha1.Size:]
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// isDES reports whether hash has the shape of a traditional DES crypt(3)
// hash: 13 characters of the crypt alphabet.
func isDES(hash string) bool {
	if len(hash) != 13 {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if !strings.ContainsRune(cryptAlphabet, rune(hash[i])) {
			return false
		}
	}
	return true
}
