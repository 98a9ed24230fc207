package daemon

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/jwt"
	"fulcrum/internal/vars"
)

// TestJWTKeyCache checks auth_jwt_key_cache's store: a set is found by its
// URI until its time has passed, and a later put replaces it.
func TestJWTKeyCache(t *testing.T) {
	var c jwtKeyCache
	t0 := time.Unix(1000, 0)
	a, b := &jwt.KeySet{}, &jwt.KeySet{}
	one, other := &authJWT{cache: time.Minute}, &authJWT{}
	key := func(level *authJWT, uri string) jwtKeyCacheKey { return jwtKeyCacheKey{level, uri} }
	if c.get(key(one, "/jwks"), t0) != nil {
		t.Fatal("an empty cache found a set")
	}
	c.put(key(one, "/jwks"), a, t0, time.Minute)
	tests := []struct {
		name  string
		level *authJWT
		uri   string
		at    time.Time
		want  *jwt.KeySet
	}{
		{"fresh", one, "/jwks", t0.Add(59 * time.Second), a},
		{"expired at its time", one, "/jwks", t0.Add(time.Minute), nil},
		{"another URI", one, "/jwks?x", t0, nil},
		{"another level's set of the URI", other, "/jwks", t0, nil},
	}
	for _, tt := range tests {
		if got := c.get(key(tt.level, tt.uri), tt.at); got != tt.want {
			t.Errorf("%s: got %p, want %p", tt.name, got, tt.want)
		}
	}
	c.put(key(one, "/jwks"), b, t0.Add(time.Minute), time.Minute)
	if got := c.get(key(one, "/jwks"), t0.Add(90*time.Second)); got != b {
		t.Errorf("after a new put: got %p, want %p", got, b)
	}
}

// TestJWTKeyCacheBounded checks that auth_jwt_key_request URIs that differ
// per request (variables a client sets) cannot grow the cache without
// bound: a full cache drops its expired sets first, else the one that
// expires soonest, and keeps the set just fetched.
func TestJWTKeyCacheBounded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name string
		// ttl is the time of the i-th set put at t0+i seconds.
		ttl func(i int) time.Duration
		// at is when the last puts happen.
		at       time.Duration
		puts     int
		kept     string // a URI that must still be cached at the end
		evicted  string // a URI that must be gone
		wantSize int
	}{
		{
			name: "one set per client URI", ttl: func(int) time.Duration { return time.Hour },
			puts: 10 * maxCachedKeySets, kept: "/jwks?t=2559", evicted: "/jwks?t=0", wantSize: maxCachedKeySets,
		},
		{
			name: "expired sets go first", ttl: func(i int) time.Duration {
				if i%2 == 0 {
					return time.Second // expired by the last puts
				}
				return time.Hour
			},
			puts: maxCachedKeySets + 1, kept: "/jwks?t=1", evicted: "/jwks?t=2", wantSize: maxCachedKeySets/2 + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c jwtKeyCache
			level := &authJWT{}
			key := func(uri string) jwtKeyCacheKey { return jwtKeyCacheKey{level, uri} }
			var last time.Time
			for i := range tt.puts {
				last = t0.Add(time.Duration(i) * time.Second)
				c.put(key("/jwks?t="+strconv.Itoa(i)), &jwt.KeySet{}, last, tt.ttl(i))
			}
			if n := len(c.sets); n != tt.wantSize {
				t.Errorf("%d sets cached, want %d", n, tt.wantSize)
			}
			if c.get(key(tt.kept), last) == nil {
				t.Errorf("%s is not cached", tt.kept)
			}
			if _, ok := c.sets[key(tt.evicted)]; ok {
				t.Errorf("%s is still cached", tt.evicted)
			}
		})
	}
}

// TestAuthJWTReusesVariableCheck checks that the access phase takes the
// result of the check a $jwt_* variable read made (jwtToken) for the same
// level and token instead of checking the token again, and checks again
// for another token or another level. The level has no keys: a check of
// its own refuses every token, so a 200 can only come from the kept one.
func TestAuthJWTReusesVariableCheck(t *testing.T) {
	realm, err := (&vars.Compiler{}).Compile("r")
	if err != nil {
		t.Fatal(err)
	}
	log, err := errlog.New(errlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	raw := b64.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + b64.EncodeToString([]byte(`{"sub":"a"}`)) + "." + b64.EncodeToString([]byte("sig"))
	tok, err := jwt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	level, other := &authJWT{realm: realm}, &authJWT{realm: realm}
	set := &config.Settings{}
	s := &snapshot{jwts: map[*config.Settings]*authJWT{set: level}, log: log}
	tests := []struct {
		name  string
		kept  jwtState
		token string
		want  int
	}{
		{"kept for the level and token", jwtState{tok: tok, level: level, raw: raw}, raw, http.StatusOK},
		{"another token", jwtState{tok: tok, level: level, raw: raw}, raw + "x", http.StatusUnauthorized},
		{"another level", jwtState{tok: tok, level: other, raw: raw}, raw, http.StatusUnauthorized},
		{"nothing kept", jwtState{}, raw, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &requestScratch{jwt: tt.kept}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			st := &sc.st
			st.Header, st.Engine = vars.HeaderMap(r.Header), sc
			w := &recorder{ResponseWriter: httptest.NewRecorder(), st: st, snap: s, set: set}
			if got := s.authJWTCheck(w, r, st, nil, set); got != tt.want {
				t.Errorf("authJWTCheck = %d, want %d", got, tt.want)
			}
		})
	}
}
