// Package jwt validates JSON Web Tokens in the JWS compact serialization
// (RFC 7515, RFC 7519) against a JSON Web Key Set (RFC 7517), as NGINX
// Plus's ngx_http_auth_jwt_module does for auth_jwt: the algorithms of
// RFC 7518 (HS*, RS*, PS*, ES*) and EdDSA with Ed25519 (RFC 8037), the exp
// and nbf claims with a leeway, and the header and claim values that the
// $jwt_header_NAME and $jwt_claim_NAME variables show. It uses only Go's
// standard library crypto. Everything here is immutable once built and
// safe for concurrent use.
package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Key is one verification key of a key set.
type Key struct {
	// Kid is the key's "kid", "" when it has none.
	Kid string
	// Kty is the key type: "oct", "RSA", "EC" or "OKP".
	Kty string
	// Alg is the key's "alg", "" when it does not restrict its algorithm.
	Alg string

	secret []byte // oct
	rsa    *rsa.PublicKey
	ec     *ecdsa.PublicKey
	ed     ed25519.PublicKey
}

// KeySet is a JSON Web Key Set's signature keys, in the file's order.
type KeySet struct {
	Keys []*Key
}

// jwk is a key as RFC 7517/7518 write it; only the members fulcrum uses.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	K   string `json:"k"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseKeySet reads a JSON Web Key Set: an object with a "keys" array. A
// key whose "use" is "enc" is for encryption and is left out; any other
// key must be complete and of a type fulcrum verifies with, else the
// error says which key (by its index and kid) is wrong and why.
func ParseKeySet(data []byte) (*KeySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid JSON Web Key Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`invalid JSON Web Key Set: no "keys" array`)
	}
	ks := &KeySet{}
	for i, raw := range doc.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if j.Use == "enc" {
			continue
		}
		k, err := j.key()
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err)
		}
		ks.Keys = append(ks.Keys, k)
	}
	return ks, nil
}

// key builds the verification key j describes.
func (j *jwk) key() (*Key, error) {
	k := &Key{Kid: j.Kid, Kty: j.Kty, Alg: j.Alg}
	var err error
	switch j.Kty {
	case "oct":
		k.secret, err = member("k", j.K)
	case "RSA":
		k.rsa, err = j.rsaKey()
	case "EC":
		k.ec, err = j.ecKey()
	case "OKP":
		k.ed, err = j.edKey()
	case "":
		err = errors.New(`no "kty"`)
	default:
		err = fmt.Errorf(`key type "%s" is not supported (use oct, RSA, EC or OKP)`, j.Kty)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// member decodes the base64url member name, which must not be empty.
func member(name, v string) ([]byte, error) {
	if v == "" {
		return nil, fmt.Errorf(`no "%s"`, name)
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf(`"%s" is not base64url: %w`, name, err)
	}
	return b, nil
}

func (j *jwk) rsaKey() (*rsa.PublicKey, error) {
	n, err := member("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := member("e", j.E)
	if err != nil {
		return nil, err
	}
	ee := new(big.Int).SetBytes(e)
	if len(e) > 4 || !ee.IsInt64() || ee.Int64() < 3 || ee.Int64()%2 == 0 {
		return nil, errors.New(`"e" is not a usable RSA exponent`)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ee.Int64())}
	if pub.N.BitLen() < 1024 {
		return nil, fmt.Errorf("the RSA modulus has %d bits, fewer than 1024", pub.N.BitLen())
	}
	return pub, nil
}

// curves maps the "crv" of an EC key to its curve.
var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

func (j *jwk) ecKey() (*ecdsa.PublicKey, error) {
	c, ok := curves[j.Crv]
	if !ok {
		return nil, fmt.Errorf(`curve "%s" is not supported (use P-256, P-384 or P-521)`, j.Crv)
	}
	x, err := member("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := member("y", j.Y)
	if err != nil {
		return nil, err
	}
	size := (c.Params().BitSize + 7) / 8
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf(`"x" and "y" of a %s key have %d bytes each`, j.Crv, size)
	}
	// Go checks the point is on the curve when parsing the uncompressed form.
	pt := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(c, pt)
	if err != nil {
		return nil, fmt.Errorf("invalid %s point: %w", j.Crv, err)
	}
	return pub, nil
}

func (j *jwk) edKey() (ed25519.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf(`OKP curve "%s" is not supported (use Ed25519)`, j.Crv)
	}
	x, err := member("x", j.X)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf(`"x" of an Ed25519 key has %d bytes`, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}
