package daemon

import (
	"testing"
	"time"

	"fulcrum/internal/jwt"
)

// TestJWTKeyCache checks auth_jwt_key_cache's store: a set is found by its
// URI until its time has passed, and a later put replaces it.
func TestJWTKeyCache(t *testing.T) {
	var c jwtKeyCache
	t0 := time.Unix(1000, 0)
	a, b := &jwt.KeySet{}, &jwt.KeySet{}
	if c.get("/jwks", t0) != nil {
		t.Fatal("an empty cache found a set")
	}
	c.put("/jwks", a, t0, time.Minute)
	tests := []struct {
		name, uri string
		at        time.Time
		want      *jwt.KeySet
	}{
		{"fresh", "/jwks", t0.Add(59 * time.Second), a},
		{"expired at its time", "/jwks", t0.Add(time.Minute), nil},
		{"another URI", "/jwks?x", t0, nil},
	}
	for _, tt := range tests {
		if got := c.get(tt.uri, tt.at); got != tt.want {
			t.Errorf("%s: got %p, want %p", tt.name, got, tt.want)
		}
	}
	c.put("/jwks", b, t0.Add(time.Minute), time.Minute)
	if got := c.get("/jwks", t0.Add(90*time.Second)); got != b {
		t.Errorf("after a new put: got %p, want %p", got, b)
	}
}
