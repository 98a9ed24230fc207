package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	_ "crypto/sha256" // SHA-256 for HS256, RS256, PS256, ES256
	_ "crypto/sha512" // SHA-384 and SHA-512 for the others
)

// The errors Parse, Verify and CheckTime return, for callers that log or
// branch on them.
var (
	ErrMalformed    = errors.New("malformed token")
	ErrAlgorithm    = errors.New("unsupported or missing algorithm")
	ErrNoKey        = errors.New("no key fits the token")
	ErrSignature    = errors.New("signature does not verify")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not yet valid")
	ErrInvalidClaim = errors.New("invalid exp or nbf claim")
)

// Token is a parsed, not yet verified, JWS compact token.
type Token struct {
	// Alg and Kid are the header's "alg" and "kid" ("" when absent).
	Alg, Kid string
	// Header and Claims are the decoded JOSE header and JWT claims set.
	Header, Claims map[string]any

	signingInput string // header.payload, as sent
	signature    []byte
}

// Parse decodes a JWS compact token: three base64url parts without
// padding, a header that is a JSON object with an "alg" string, and a
// payload that is a JSON object. It does not check the signature.
func Parse(s string) (*Token, error) {
	h, rest, ok := strings.Cut(s, ".")
	p, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sig, ".") {
		return nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	t := &Token{signingInput: s[:len(h)+1+len(p)]}
	var err error
	if t.Header, err = object(h, "header"); err != nil {
		return nil, err
	}
	if t.Claims, err = object(p, "payload"); err != nil {
		return nil, err
	}
	if t.signature, err = base64.RawURLEncoding.Strict().DecodeString(sig); err != nil {
		return nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	alg, ok := t.Header["alg"].(string)
	if !ok {
		return nil, fmt.Errorf(`%w: no "alg" in the header`, ErrAlgorithm)
	}
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 section 4.1.11: a recipient that does not understand
		// every extension "crit" lists must reject the token, and fulcrum
		// understands none (such as "b64": false, RFC 7797, which changes
		// what the signature covers).
		return nil, fmt.Errorf(`%w: "crit" lists header extensions fulcrum does not support`, ErrMalformed)
	}
	t.Alg = alg
	t.Kid, _ = t.Header["kid"].(string)
	return t, nil
}

// object decodes one base64url part that must be a JSON object; numbers
// are kept as written (json.Number).
func object(part, what string) (map[string]any, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(part)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64url", ErrMalformed, what)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, what)
	}
	return m, nil
}

// algorithm is what an "alg" value asks for.
type algorithm struct {
	kty  string
	hash crypto.Hash
	pss  bool   // RSASSA-PSS rather than PKCS #1 v1.5
	crv  string // the EC curve ES* requires
}

// algorithms are the JWS algorithms fulcrum verifies; "none" is not one.
var algorithms = map[string]algorithm{
	"HS256": {kty: "oct", hash: crypto.SHA256},
	"HS384": {kty: "oct", hash: crypto.SHA384},
	"HS512": {kty: "oct", hash: crypto.SHA512},
	"RS256": {kty: "RSA", hash: crypto.SHA256},
	"RS384": {kty: "RSA", hash: crypto.SHA384},
	"RS512": {kty: "RSA", hash: crypto.SHA512},
	"PS256": {kty: "RSA", hash: crypto.SHA256, pss: true},
	"PS384": {kty: "RSA", hash: crypto.SHA384, pss: true},
	"PS512": {kty: "RSA", hash: crypto.SHA512, pss: true},
	"ES256": {kty: "EC", hash: crypto.SHA256, crv: "P-256"},
	"ES384": {kty: "EC", hash: crypto.SHA384, crv: "P-384"},
	"ES512": {kty: "EC", hash: crypto.SHA512, crv: "P-521"},
	"EdDSA": {kty: "OKP"},
}

// Verify checks the signature with the keys of sets that fit the token:
// those with the token's "kid" when it has one, else all; of those, the
// ones whose type fits "alg" and whose own "alg", if any, is the token's.
// One of them must verify the signature.
func (t *Token) Verify(sets ...*KeySet) error {
	a, ok := algorithms[t.Alg]
	if !ok {
		return fmt.Errorf(`%w: "%s"`, ErrAlgorithm, t.Alg)
	}
	tried := false
	for _, ks := range sets {
		for _, k := range ks.Keys {
			if t.Kid != "" && k.Kid != t.Kid || k.Kty != a.kty || k.Alg != "" && k.Alg != t.Alg {
				continue
			}
			tried = true
			if k.verify(a, t.signingInput, t.signature) {
				return nil
			}
		}
	}
	if !tried {
		return fmt.Errorf(`%w: no %s key for "%s" with kid "%s"`, ErrNoKey, a.kty, t.Alg, t.Kid)
	}
	return ErrSignature
}

// verify reports whether sig signs input with k under a.
func (k *Key) verify(a algorithm, input string, sig []byte) bool {
	if a.kty == "OKP" {
		return ed25519.Verify(k.ed, []byte(input), sig)
	}
	if a.kty == "oct" {
		m := hmac.New(a.hash.New, k.secret)
		m.Write([]byte(input))
		return hmac.Equal(m.Sum(nil), sig) // constant time
	}
	h := a.hash.New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	switch a.kty {
	case "RSA":
		if a.pss {
			return rsa.VerifyPSS(k.rsa, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k.rsa, a.hash, digest, sig) == nil
	case "EC":
		return k.verifyEC(a, digest, sig)
	}
	return false
}

// verifyEC checks an ES* signature: R and S, each the curve's size, one
// after the other (RFC 7518 section 3.4), with a key on the alg's curve.
func (k *Key) verifyEC(a algorithm, digest, sig []byte) bool {
	if k.ec.Curve.Params().Name != a.crv {
		return false
	}
	size := (k.ec.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(k.ec, digest, r, s)
}

// CheckTime checks the "exp" and "nbf" claims, when present, at now with
// leeway for clock skew: the token is expired from exp+leeway on (RFC 7519
// section 4.1.4: now must be before exp) and not yet valid before
// nbf-leeway. A present exp or nbf that is not a number is invalid.
func (t *Token) CheckTime(now time.Time, leeway time.Duration) error {
	sec := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	skew := leeway.Seconds()
	if v, ok := t.Claims["exp"]; ok {
		exp, err := number(v)
		if err != nil {
			return fmt.Errorf(`%w: "exp": %w`, ErrInvalidClaim, err)
		}
		if sec >= exp+skew {
			return ErrExpired
		}
	}
	if v, ok := t.Claims["nbf"]; ok {
		nbf, err := number(v)
		if err != nil {
			return fmt.Errorf(`%w: "nbf": %w`, ErrInvalidClaim, err)
		}
		if sec < nbf-skew {
			return ErrNotYetValid
		}
	}
	return nil
}

// number reads a NumericDate.
func number(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("not a finite number")
	}
	return f, nil
}
