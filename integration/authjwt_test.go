package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// jwtConf is the configuration of TestAuthJWT: BACKEND is the backend's
// address, KEYS the key set's path and JWKS the address of a server that
// answers another key set (for auth_jwt_key_request). The backend echoes the headers
// it gets, so the proxy_set_header lines show the variables' values.
const jwtConf = `
events {}
http {
    auth_jwt_claim_set $jwt_email info e-mail;
    auth_jwt_header_set $jwt_kid kid;
    map $jwt_claim_iss $jwt_iss_ok { good 1; }
    server {
        listen 127.0.0.1:0;
        auth_jwt "api $server_port";
        auth_jwt_key_file KEYS;
        proxy_set_header X-Sub $jwt_claim_sub;
        proxy_set_header X-Aud $jwt_claim_aud;
        proxy_set_header X-Email $jwt_email;
        proxy_set_header X-Alg $jwt_header_alg;
        proxy_set_header X-Kid $jwt_kid;
        location / { proxy_pass http://BACKEND; }
        location /cookie/ { auth_jwt "jar" token=$cookie_auth_token; proxy_pass http://BACKEND; }
        location /iss403/ { auth_jwt_require $jwt_iss_ok error=403; proxy_pass http://BACKEND; }
        location /iss401/ { auth_jwt_require $jwt_iss_ok $jwt_claim_sub; proxy_pass http://BACKEND; }
        location /open/ { auth_jwt off; proxy_pass http://BACKEND; }
        location /any/ { satisfy any; allow 127.0.0.1; deny all; proxy_pass http://BACKEND; }
        location /anydeny/ { satisfy any; deny all; proxy_pass http://BACKEND; }
        location /all/ { deny all; proxy_pass http://BACKEND; }
        location /leeway/ { auth_jwt_leeway 1h; proxy_pass http://BACKEND; }
        location /kr/ { auth_jwt_key_request /jwks; proxy_pass http://BACKEND; }
        location /krcache/ { auth_jwt_key_request /jwks?cached; auth_jwt_key_cache 1h; proxy_pass http://BACKEND; }
        location /krbad/ { auth_jwt_key_request /nokeys; proxy_pass http://BACKEND; }
        location /krsame/ { auth_jwt_key_request /jwks?cached; proxy_pass http://BACKEND; }
        location = /jwks { internal; proxy_pass http://JWKS/keys; }
        location = /nokeys { internal; return 404; }
        location /write/ {
            auth_jwt off;
            limit_except GET { auth_jwt "writers"; }
            proxy_pass http://BACKEND;
        }
    }
}
`

var jwtB64 = base64.RawURLEncoding

// jwtKeys are an HS256 secret and an ES256 key made for one test, with
// the JSON Web Key Set of both.
type jwtKeys struct {
	secret []byte
	ec     *ecdsa.PrivateKey
	jwks   string
}

func newJWTKeys(t *testing.T) *jwtKeys {
	t.Helper()
	k := &jwtKeys{secret: make([]byte, 32)}
	rand.Read(k.secret)
	var err error
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	k.jwks = fmt.Sprintf(`{"keys":[{"kty":"oct","kid":"hs","k":"%s"},{"kty":"EC","kid":"ec","crv":"P-256","x":"%s","y":"%s"}]}`,
		jwtB64.EncodeToString(k.secret), jwtB64.EncodeToString(k.ec.X.FillBytes(make([]byte, 32))), jwtB64.EncodeToString(k.ec.Y.FillBytes(make([]byte, 32))))
	return k
}

// sign returns a token with header and claims (JSON), signed with the
// HS256 secret or, for alg ES256, the EC key.
func (k *jwtKeys) sign(t *testing.T, header, claims string) string {
	t.Helper()
	in := jwtB64.EncodeToString([]byte(header)) + "." + jwtB64.EncodeToString([]byte(claims))
	var sig []byte
	if strings.Contains(header, "ES256") {
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	} else {
		m := hmac.New(sha256.New, k.secret)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	}
	return in + "." + jwtB64.EncodeToString(sig)
}

// TestAuthJWT runs auth_jwt against the real binary: tokens from the
// Authorization header and from a cookie, bad ones refused with a Bearer
// challenge, auth_jwt_require with 401 and 403, satisfy, limit_except,
// and the $jwt_* variables passed upstream.
func TestAuthJWT(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	keys := newJWTKeys(t)
	keyFile := filepath.Join(writeFiles(t, t.TempDir(), map[string]string{"keys.json": keys.jwks}), "keys.json")
	b := startBackend(t, "app")
	served := newJWTKeys(t)
	var jwksHits atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jwksHits.Add(1)
		io.WriteString(w, served.jwks)
	}))
	t.Cleanup(jwks.Close)
	conf := strings.NewReplacer("BACKEND", b.addr(), "KEYS", keyFile, "JWKS", strings.TrimPrefix(jwks.URL, "http://")).Replace(jwtConf)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	_, port, _ := strings.Cut(addr, ":")
	now := time.Now().Unix()
	good := keys.sign(t, `{"alg":"HS256","kid":"hs"}`, fmt.Sprintf(`{"sub":"alice","iss":"good","aud":["a","b"],"exp":%d,"info":{"e-mail":"alice@example.com"}}`, now+600))
	ec := keys.sign(t, `{"alg":"ES256","kid":"ec"}`, `{"sub":"bob","iss":"other"}`)
	expired := keys.sign(t, `{"alg":"HS256"}`, fmt.Sprintf(`{"sub":"carol","exp":%d}`, now-60))
	noSub := keys.sign(t, `{"alg":"HS256"}`, `{"iss":"good"}`)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + jwtB64.EncodeToString([]byte(`{"sub":"mallory","iss":"good"}`)) + "." + parts[2]
	none := jwtB64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	fetched := served.sign(t, `{"alg":"HS256","kid":"hs"}`, `{"sub":"dave"}`)
	bearer := func(tok string) string { return "Authorization: Bearer " + tok + "\r\n" }
	missing := `WWW-Authenticate: Bearer realm="api ` + port + `"`
	invalid := missing + `, error="invalid_token"`
	tests := []struct {
		name, method, target, extra string
		status                      int
		challenge                   string   // the WWW-Authenticate line of a 401
		upstream                    []string // lines the backend must have got
	}{
		{"no token", "GET", "/", "", 401, missing, nil},
		{"basic credentials are no token", "GET", "/", "Authorization: Basic YTpi\r\n", 401, missing, nil},
		{"good HS256 token", "GET", "/", bearer(good), 200, "", []string{"x-sub: alice", "x-aud: a,b", "x-email: alice@example.com", "x-alg: HS256", "x-kid: hs"}},
		{"scheme without case", "GET", "/", "Authorization: bearer " + good + "\r\n", 200, "", []string{"x-sub: alice"}},
		{"good ES256 token", "GET", "/", bearer(ec), 200, "", []string{"x-sub: bob", "x-alg: ES256", "x-kid: ec"}},
		{"expired", "GET", "/", bearer(expired), 401, invalid, nil},
		{"expired within auth_jwt_leeway", "GET", "/leeway/", bearer(expired), 200, "", []string{"x-sub: carol"}},
		{"tampered payload", "GET", "/", bearer(tampered), 401, invalid, nil},
		{"alg none", "GET", "/", bearer(none), 401, invalid, nil},
		{"garbage", "GET", "/", bearer("not.a.token"), 401, invalid, nil},
		{"OPTIONS is not special", "OPTIONS", "/", "Origin: http://x\r\nAccess-Control-Request-Method: GET\r\n", 401, missing, nil},
		{"token from a cookie", "GET", "/cookie/", "Cookie: auth_token=" + good + "\r\n", 200, "", []string{"x-sub: alice"}},
		{"cookie location ignores the header", "GET", "/cookie/", bearer(good), 401, `WWW-Authenticate: Bearer realm="jar"`, nil},
		{"require holds", "GET", "/iss403/", bearer(good), 200, "", []string{"x-sub: alice"}},
		{"require fails with 403", "GET", "/iss403/", bearer(ec), 403, "", nil},
		{"require fails with 401", "GET", "/iss401/", bearer(noSub), 401, invalid, nil},
		{"require of two values holds", "GET", "/iss401/", bearer(good), 200, "", nil},
		{"auth_jwt off", "GET", "/open/", "", 200, "", nil},
		{"satisfy any: allow wins without a token", "GET", "/any/", "", 200, "", nil},
		{"satisfy any: the token wins over deny", "GET", "/anydeny/", bearer(good), 200, "", nil},
		{"satisfy any: 401 over 403", "GET", "/anydeny/", "", 401, missing, nil},
		{"satisfy all: deny answers first", "GET", "/all/", bearer(good), 403, "", nil},
		{"key set by subrequest", "GET", "/kr/", bearer(fetched), 200, "", []string{"x-sub: dave"}},
		{"a token the fetched set does not verify", "GET", "/kr/", bearer(ec), 200, "", []string{"x-sub: bob"}}, // the server's key file still applies
		{"a fetched key is not a file key", "GET", "/", bearer(fetched), 401, invalid, nil},
		{"no token: no subrequest", "GET", "/kr/", "", 401, `WWW-Authenticate: Bearer realm="api ` + port + `"`, nil},
		{"key request answered 404", "GET", "/krbad/", bearer(good), 500, "", nil},
		{"limit_except: GET is free", "GET", "/write/", "", 200, "", nil},
		{"limit_except: POST needs a token", "POST", "/write/", "", 401, `WWW-Authenticate: Bearer realm="writers"`, nil},
		{"limit_except: POST with a token", "POST", "/write/", bearer(good), 200, "", []string{"x-sub: alice"}},
	}
	hitsBefore := jwksHits.Load()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra, body := tt.extra, ""
			if tt.method == "POST" {
				extra, body = extra+"Content-Length: 3\r\n", "a=b"
			}
			status, lines, got := rawExchange(t, addr, tt.method, tt.target, extra, body)
			if status != tt.status {
				t.Fatalf("%s %s: %d, want %d\n%s", tt.method, tt.target, status, tt.status, got)
			}
			if tt.challenge != "" && !slices.Contains(lines, tt.challenge) {
				t.Errorf("no %q in %q", tt.challenge, lines)
			}
			if tt.status != 401 && slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "WWW-Authenticate") }) {
				t.Errorf("a %d with a challenge: %q", tt.status, lines)
			}
			for _, want := range tt.upstream {
				if !strings.Contains(got, "\n"+want+"\n") {
					t.Errorf("the backend got no %q:\n%s", want, got)
				}
			}
		})
	}
	// /kr/ fetched its key set for each of its two tokens (no
	// auth_jwt_key_cache); /krcache/ fetches once for three requests.
	if n := jwksHits.Load() - hitsBefore; n != 2 {
		t.Errorf("the key set was fetched %d times for /kr/, want 2", n)
	}
	for range 3 {
		if status, _, got := rawExchange(t, addr, "GET", "/krcache/", bearer(fetched), ""); status != 200 {
			t.Fatalf("/krcache/: %d\n%s", status, got)
		}
	}
	if n := jwksHits.Load() - hitsBefore; n != 3 {
		t.Errorf("the key set was fetched %d times in all, want 3 (one for /krcache/)", n)
	}
	// /krsame/ asks for the URI /krcache/ caches, without a cache of its
	// own: it fetches the set for each token all the same.
	for range 2 {
		if status, _, got := rawExchange(t, addr, "GET", "/krsame/", bearer(fetched), ""); status != 200 {
			t.Fatalf("/krsame/: %d\n%s", status, got)
		}
	}
	if n := jwksHits.Load() - hitsBefore; n != 5 {
		t.Errorf("the key set was fetched %d times in all, want 5 (two for /krsame/, which has no auth_jwt_key_cache)", n)
	}
}

// TestAuthJWTConfigTest: fulcrum -t names the file and line of a key file
// that is missing or not a key set, and of the directives fulcrum refuses.
func TestAuthJWTConfigTest(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"bad.json":  `{"keys":[{"kty":"oct","kid":"x"}]}`,
		"good.json": `{"keys":[]}`,
	})
	tests := []struct{ directives, want string }{
		{"auth_jwt x; auth_jwt_key_file " + dir + "/missing.json;", `auth_jwt_key_file "` + dir + `/missing.json" cannot be read (no such file or directory) in %s:3, write the path of a JSON Web Key Set file`},
		{"auth_jwt x; auth_jwt_key_file " + dir + "/bad.json;", `auth_jwt_key_file "` + dir + `/bad.json": key 0 (kid "x"): no "k" in %s:3, the file must be a JSON Web Key Set (RFC 7517)`},
		{"auth_jwt_type encrypted;", `"auth_jwt_type encrypted" (JSON Web Encryption) is not supported by fulcrum in %s:3`},
		{"auth_jwt x token=cookie;", `invalid parameter "token=cookie" of "auth_jwt" in %s:3`},
		{"auth_jwt_require $a error=500;", `invalid parameter "error=500" of "auth_jwt_require" in %s:3`},
		{"auth_jwt_require value;", `invalid value "value" of "auth_jwt_require" in %s:3`},
		{"auth_jwt_key_file $host.json;", `variables in "auth_jwt_key_file" are not supported by fulcrum in %s:3`},
		{"} auth_jwt_claim_set email sub; server {", `invalid variable name "email" in %s:3`},
	}
	for _, tt := range tests {
		t.Run(tt.directives, func(t *testing.T) {
			t.Parallel()
			r, path := testHTTP(t, "    server { listen 127.0.0.1:0; "+tt.directives+" }")
			if want := fmt.Sprintf(tt.want, path); r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, want)
			}
		})
	}
	r, _ := testHTTP(t, "    auth_jwt_claim_set $e info e-mail;\n    server { listen 127.0.0.1:0; auth_jwt x; auth_jwt_key_file "+dir+"/good.json; auth_jwt_type signed; auth_jwt_key_cache 1h; }")
	if r.code != 0 {
		t.Errorf("a valid configuration: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
