package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

// signer is a freshly generated key pair for one algorithm: the JWK of
// its public half and a function that signs.
type signer struct {
	alg  string
	jwk  map[string]any
	sign func(input []byte) []byte
}

func hashOf(alg string) crypto.Hash {
	switch alg[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, in []byte) []byte {
	w := h.New()
	w.Write(in)
	return w.Sum(nil)
}

// newSigner generates a key for alg, with kid.
func newSigner(t testing.TB, alg, kid string) *signer {
	t.Helper()
	s := &signer{alg: alg}
	switch alg[:2] {
	case "HS":
		secret := make([]byte, 32)
		rand.Read(secret)
		s.jwk = map[string]any{"kty": "oct", "k": b64.EncodeToString(secret)}
		s.sign = func(in []byte) []byte {
			m := hmac.New(hashOf(alg).New, secret)
			m.Write(in)
			return m.Sum(nil)
		}
	case "RS", "PS":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		s.jwk = map[string]any{"kty": "RSA", "n": b64.EncodeToString(k.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
		s.sign = func(in []byte) []byte {
			h := hashOf(alg)
			var sig []byte
			var err error
			if alg[0] == 'P' {
				sig, err = rsa.SignPSS(rand.Reader, k, h, digest(h, in), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			} else {
				sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, digest(h, in))
			}
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	case "ES":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := (curve.Params().BitSize + 7) / 8
		s.jwk = map[string]any{"kty": "EC", "crv": curve.Params().Name,
			"x": b64.EncodeToString(k.X.FillBytes(make([]byte, size))), "y": b64.EncodeToString(k.Y.FillBytes(make([]byte, size)))}
		s.sign = func(in []byte) []byte {
			r, ss, err := ecdsa.Sign(rand.Reader, k, digest(hashOf(alg), in))
			if err != nil {
				t.Fatal(err)
			}
			return append(r.FillBytes(make([]byte, size)), ss.FillBytes(make([]byte, size))...)
		}
	case "Ed":
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		s.jwk = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(pub)}
		s.sign = func(in []byte) []byte { return ed25519.Sign(priv, in) }
	}
	if kid != "" {
		s.jwk["kid"] = kid
	}
	return s
}

// token signs header and claims (JSON text) with s.
func (s *signer) token(header, claims string) string {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	return in + "." + b64.EncodeToString(s.sign([]byte(in)))
}

// keySet builds the JWKS of signers' public keys.
func keySet(t testing.TB, signers ...*signer) *KeySet {
	t.Helper()
	var keys []map[string]any
	for _, s := range signers {
		keys = append(keys, s.jwk)
	}
	data, _ := json.Marshal(map[string]any{"keys": keys})
	ks, err := ParseKeySet(data)
	if err != nil {
		t.Fatalf("ParseKeySet: %v\n%s", err, data)
	}
	return ks
}

var allAlgs = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// TestVerifyEveryAlgorithm signs a token with each algorithm and checks it
// verifies with its key, fails with a tampered signature or payload, and
// fails with another key of the same type.
func TestVerifyEveryAlgorithm(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			s := newSigner(t, alg, "k1")
			other := newSigner(t, alg, "k1")
			good := s.token(`{"alg":"`+alg+`","kid":"k1"}`, `{"sub":"alice"}`)
			check := func(tok string, ks *KeySet, want error) {
				t.Helper()
				p, err := Parse(tok)
				if err == nil {
					err = p.Verify(ks)
				}
				if !errors.Is(err, want) && !(want == nil && err == nil) {
					t.Errorf("got %v, want %v", err, want)
				}
			}
			check(good, keySet(t, s), nil)
			check(good, keySet(t, other, s), nil) // the second key with the kid verifies
			check(good, keySet(t, other), ErrSignature)
			parts := strings.Split(good, ".")
			sig, _ := b64.DecodeString(parts[2])
			sig[len(sig)/2] ^= 1
			check(parts[0]+"."+parts[1]+"."+b64.EncodeToString(sig), keySet(t, s), ErrSignature)
			check(parts[0]+"."+b64.EncodeToString([]byte(`{"sub":"mallory"}`))+"."+parts[2], keySet(t, s), ErrSignature)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	hs := newSigner(t, "HS256", "h")
	es := newSigner(t, "ES256", "e")
	es384 := newSigner(t, "ES384", "e3")
	ed := newSigner(t, "EdDSA", "")
	ks := keySet(t, hs, es, es384, ed)
	none := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64.EncodeToString([]byte(`{"sub":"x"}`)) + "."
	tests := []struct {
		name, token string
		want        error
	}{
		{"good HS256", hs.token(`{"alg":"HS256","kid":"h"}`, `{}`), nil},
		{"no kid tries every key of the type", ed.token(`{"alg":"EdDSA"}`, `{}`), nil},
		{"alg none", none, ErrAlgorithm},
		{"unknown alg", hs.token(`{"alg":"HS999"}`, `{}`), ErrAlgorithm},
		{"no alg", hs.token(`{"kid":"h"}`, `{}`), ErrAlgorithm},
		{"alg not a string", hs.token(`{"alg":1}`, `{}`), ErrAlgorithm},
		{"wrong kid", hs.token(`{"alg":"HS256","kid":"nope"}`, `{}`), ErrNoKey},
		{"kid of a key of another type", hs.token(`{"alg":"HS256","kid":"e"}`, `{}`), ErrNoKey},
		// an EC key's bytes used as an HMAC secret must not verify
		{"alg does not fit the key", es.token(`{"alg":"HS256","kid":"e"}`, `{}`), ErrNoKey},
		{"ES256 header with an ES384 key", es384.token(`{"alg":"ES256","kid":"e3"}`, `{}`), ErrSignature},
		{"two parts", "a.b", ErrMalformed},
		{"four parts", "a.b.c.d", ErrMalformed},
		{"padded base64", strings.Replace(hs.token(`{"alg":"HS256","kid":"h"}`, `{"a":1}`), ".", "=.", 1), ErrMalformed},
		{"standard base64 alphabet", "eyJhbGciOiJIUzI1NiJ9.e30.a+b/", ErrMalformed},
		{"header not an object", b64.EncodeToString([]byte(`[1]`)) + ".e30.", ErrMalformed},
		{"payload not JSON", hs.token(`{"alg":"HS256"}`, `nope`), ErrMalformed},
		{"trailing JSON", hs.token(`{"alg":"HS256"}{}`, `{}`), ErrMalformed},
		{"empty", "", ErrMalformed},
		{"crit extension", hs.token(`{"alg":"HS256","kid":"h","b64":false,"crit":["b64"]}`, `{}`), ErrMalformed},
		{"empty crit", hs.token(`{"alg":"HS256","kid":"h","crit":[]}`, `{}`), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.token)
			if err == nil {
				err = p.Verify(ks)
			}
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tests := []struct {
		name, claims string
		leeway       time.Duration
		want         error
	}{
		{"no exp or nbf", `{}`, 0, nil},
		{"exp ahead", `{"exp":1000001}`, 0, nil},
		{"exp now is expired", `{"exp":1000000}`, 0, ErrExpired},
		{"exp past", `{"exp":999990}`, 0, ErrExpired},
		{"exp past within leeway", `{"exp":999990}`, 11 * time.Second, nil},
		{"exp past beyond leeway", `{"exp":999990}`, 10 * time.Second, ErrExpired},
		{"nbf now", `{"nbf":1000000}`, 0, nil},
		{"nbf ahead", `{"nbf":1000005}`, 0, ErrNotYetValid},
		{"nbf ahead within leeway", `{"nbf":1000005}`, 5 * time.Second, nil},
		{"fractional exp", `{"exp":1000000.5}`, 0, nil},
		{"exp a string", `{"exp":"1000001"}`, 0, ErrInvalidClaim},
		{"nbf null", `{"nbf":null}`, 0, ErrInvalidClaim},
	}
	hs := newSigner(t, "HS256", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(hs.token(`{"alg":"HS256"}`, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			err = p.CheckTime(now, tt.leeway)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValues(t *testing.T) {
	hs := newSigner(t, "HS256", "")
	p, err := Parse(hs.token(`{"alg":"HS256","typ":"JWT","x5c":["a","b"]}`,
		`{"sub":"alice","n":12345678901234567890,"f":1.50,"ok":true,"no":false,"nul":null,"aud":["a","b",3],`+
			`"info":{"e-mail":"a@example.com","job title":"dev","deep":{"x":[1,{"y":2}]}},"a.b":"dot"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header bool
		path   []string
		want   string
		found  bool
	}{
		{false, []string{"sub"}, "alice", true},
		{false, []string{"n"}, "12345678901234567890", true},
		{false, []string{"f"}, "1.50", true},
		{false, []string{"ok"}, "true", true},
		{false, []string{"no"}, "false", true},
		{false, []string{"nul"}, "", true},
		{false, []string{"aud"}, "a,b,3", true},
		{false, []string{"info", "e-mail"}, "a@example.com", true},
		{false, []string{"info", "job title"}, "dev", true},
		{false, []string{"info", "deep", "x"}, `1,{"y":2}`, true},
		{false, []string{"info", "deep"}, `{"x":[1,{"y":2}]}`, true},
		{false, []string{"a.b"}, "dot", true},
		{false, []string{"info", "missing"}, "", false},
		{false, []string{"sub", "x"}, "", false},
		{false, []string{"missing"}, "", false},
		{false, nil, "", false},
		{true, []string{"typ"}, "JWT", true},
		{true, []string{"x5c"}, "a,b", true},
		{true, []string{"kid"}, "", false},
	}
	for _, tt := range tests {
		get := p.Claim
		if tt.header {
			get = p.HeaderValue
		}
		if v, ok := get(tt.path...); v != tt.want || ok != tt.found {
			t.Errorf("%v %q: %q %v, want %q %v", tt.header, tt.path, v, ok, tt.want, tt.found)
		}
	}
}

func TestParseKeySet(t *testing.T) {
	tests := []struct {
		name, json, err string
		keys            int
	}{
		{"empty set", `{"keys":[]}`, "", 0},
		{"enc key left out", `{"keys":[{"kty":"RSA","use":"enc"}]}`, "", 0},
		{"oct", `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}`, "", 1},
		{"not JSON", `keys`, "invalid JSON Web Key Set", 0},
		{"no keys", `{}`, `no "keys" array`, 0},
		{"no kty", `{"keys":[{"k":"c2VjcmV0"}]}`, `key 0 (kid ""): no "kty"`, 0},
		{"unknown kty", `{"keys":[{"kty":"XYZ"}]}`, `key type "XYZ" is not supported`, 0},
		{"oct without k", `{"keys":[{"kty":"oct","kid":"x"}]}`, `key 0 (kid "x"): no "k"`, 0},
		{"bad base64", `{"keys":[{"kty":"oct","k":"c2V+"}]}`, `"k" is not base64url`, 0},
		{"small RSA", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, "fewer than 1024", 0},
		{"even exponent", `{"keys":[{"kty":"RSA","n":"AQAB","e":"Ag"}]}`, "not a usable RSA exponent", 0},
		{"unknown curve", `{"keys":[{"kty":"EC","crv":"P-192","x":"AA","y":"AA"}]}`, `curve "P-192" is not supported`, 0},
		{"EC point off the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + b64.EncodeToString(make([]byte, 32)) + `","y":"` + b64.EncodeToString(make([]byte, 32)) + `"}]}`, "invalid P-256 point", 0},
		{"Ed448", `{"keys":[{"kty":"OKP","crv":"Ed448","x":"AA"}]}`, `OKP curve "Ed448" is not supported`, 0},
		{"short Ed25519", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}`, "has 32 bytes", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseKeySet([]byte(tt.json))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil || len(ks.Keys) != tt.keys {
				t.Fatalf("%v, %d keys; want %d", err, len(ks.Keys), tt.keys)
			}
		})
	}
}

// FuzzParse checks that Parse, Verify, CheckTime and the value lookups
// never panic on any input.
func FuzzParse(f *testing.F) {
	hs := newSigner(f, "HS256", "k")
	ks := keySet(f, hs, newSigner(f, "ES256", ""), newSigner(f, "EdDSA", ""))
	f.Add(hs.token(`{"alg":"HS256","kid":"k"}`, `{"sub":"a","exp":1e99,"aud":["x",{"y":1}]}`))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		_ = p.Verify(ks)
		_ = p.CheckTime(time.Unix(0, 0), time.Second)
		p.Claim("aud")
		p.Claim("sub", "x")
		p.HeaderValue("alg")
	})
}
