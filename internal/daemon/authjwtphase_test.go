package daemon_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jwtPhaseConf reads the $jwt_* variables before the access phase: in an
// if, a set, a map a rewrite uses, with a token from a cookie, under
// satisfy any (whose allow lets the request in without auth_jwt's check)
// and with auth_jwt_key_request. %[1]s is the directory with keys.json,
// %[2]s the backend, which answers the X-Set and X-Sub fields it gets.
const jwtPhaseConf = `
    access_log off;
    map $jwt_claim_sub $dest { alice a; default other; }
    server {
        listen 127.0.0.1:0;
        auth_jwt "r";
        auth_jwt_key_file %[1]s/keys.json;
        proxy_set_header X-Sub $jwt_claim_sub; # replaced where a location sets X-Set
        location /if/ {
            if ($jwt_claim_role = admin) { return 200 "admin\n"; }
            proxy_pass http://%[2]s;
        }
        location /set/ {
            set $x "sub=$jwt_claim_sub alg=$jwt_header_alg";
            proxy_set_header X-Set $x;
            proxy_set_header X-Sub $jwt_claim_sub;
            proxy_pass http://%[2]s;
        }
        location /map/ { rewrite ^/map/(.*)$ /dest/$dest/$1 last; }
        location /dest/ { proxy_pass http://%[2]s; }
        location /any/ {
            satisfy any;
            allow 127.0.0.1;
            set $x "sub=$jwt_claim_sub";
            proxy_set_header X-Set $x;
            proxy_set_header X-Sub $jwt_claim_sub;
            proxy_pass http://%[2]s;
        }
        location /cookie/ {
            auth_jwt "c" token=$cookie_t;
            set $x "sub=$jwt_claim_sub";
            proxy_set_header X-Set $x;
            proxy_set_header X-Sub $jwt_claim_sub;
            proxy_pass http://%[2]s;
        }
        location /kr/ {
            auth_jwt_key_request /jwks;
            set $x "sub=$jwt_claim_sub";
            proxy_set_header X-Set $x;
            proxy_set_header X-Sub $jwt_claim_sub;
            proxy_pass http://%[2]s;
        }
        location = /jwks { internal; auth_jwt off; root %[1]s; try_files /keys.json =404; }
    }
`

// signHS256 returns a token with claims (JSON) signed with secret.
func signHS256(secret []byte, claims string) string {
	b64 := base64.RawURLEncoding
	in := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64.EncodeToString(m.Sum(nil))
}

// TestAuthJWTVariablesBeforeAccess checks that the $jwt_* variables read
// in the rewrite phase (if, set, a map in a rewrite) see the request's
// token once it verified, that a token that does not verify (bad
// signature, expired, not a token) leaves them empty, and that the access
// phase still refuses it.
func TestAuthJWTVariablesBeforeAccess(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef")
	jwks := fmt.Sprintf(`{"keys":[{"kty":"oct","k":"%s"}]}`, base64.RawURLEncoding.EncodeToString(secret))
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(jwks), 0o644); err != nil {
		t.Fatal(err)
	}
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s x-set=%q x-sub=%q", r.RequestURI, r.Header.Get("X-Set"), r.Header.Get("X-Sub"))
	}))
	t.Cleanup(b.Close)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(jwtPhaseConf, dir, b.Listener.Addr()))

	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	admin := signHS256(secret, `{"sub":"alice","role":"admin","exp":`+exp+`}`)
	alice := signHS256(secret, `{"sub":"alice","role":"user"}`)
	bob := signHS256(secret, `{"sub":"bob"}`)
	forgedAdmin := signHS256([]byte("another secret, not in the set!!"), `{"sub":"alice","role":"admin"}`)
	expiredAdmin := signHS256(secret, `{"sub":"alice","role":"admin","exp":1000}`)
	// tampered is alice's token with bob's claims: its signature is alice's.
	tampered := strings.Split(bob, ".")[0] + "." + strings.Split(bob, ".")[1] + "." + strings.Split(alice, ".")[2]

	tests := []struct {
		name, path, token, cookie string
		status                    int
		body                      string
	}{
		{name: "if sees a verified claim", path: "/if/x", token: admin, status: 200, body: "admin\n"},
		{name: "if, another role", path: "/if/x", token: alice, status: 200, body: `backend /if/x x-set="" x-sub="alice"`},
		{name: "if, bad signature", path: "/if/x", token: forgedAdmin, status: 401},
		{name: "if, expired", path: "/if/x", token: expiredAdmin, status: 401},
		{name: "if, not a token", path: "/if/x", token: "a.b.c", status: 401},
		{name: "if, no token", path: "/if/x", status: 401},
		{name: "set", path: "/set/x", token: alice, status: 200, body: `backend /set/x x-set="sub=alice alg=HS256" x-sub="alice"`},
		{name: "set, bad signature", path: "/set/x", token: tampered, status: 401},
		{name: "map in a rewrite", path: "/map/x", token: alice, status: 200, body: `backend /dest/a/x x-set="" x-sub="alice"`},
		{name: "map, another subject", path: "/map/x", token: bob, status: 200, body: `backend /dest/other/x x-set="" x-sub="bob"`},
		{name: "map, bad signature", path: "/map/x", token: forgedAdmin, status: 401},
		// satisfy any: the allow lets the request in; the variables are
		// those of the token only when it verifies.
		{name: "satisfy any, verified", path: "/any/x", token: alice, status: 200, body: `backend /any/x x-set="sub=alice" x-sub="alice"`},
		{name: "satisfy any, bad signature", path: "/any/x", token: tampered, status: 200, body: `backend /any/x x-set="sub=" x-sub=""`},
		{name: "satisfy any, expired", path: "/any/x", token: expiredAdmin, status: 200, body: `backend /any/x x-set="sub=" x-sub=""`},
		{name: "token from a cookie", path: "/cookie/x", cookie: alice, status: 200, body: `backend /cookie/x x-set="sub=alice" x-sub="alice"`},
		{name: "cookie, the header is not the source", path: "/cookie/x", token: alice, status: 401},
		// auth_jwt_key_request: the key set comes from a subrequest in the
		// access phase, so the rewrite phase sees nothing; the content
		// phase sees the accepted token.
		{name: "key request, empty before access", path: "/kr/x", token: alice, status: 200, body: `backend /kr/x x-set="sub=" x-sub="alice"`},
		{name: "key request, bad signature", path: "/kr/x", token: tampered, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.cookie != "" {
				req.Header.Set("Cookie", "t="+tt.cookie)
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if tt.status == 401 {
				if www := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(www, "Bearer ") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", www)
				}
				return
			}
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}
