package balancer

import (
	"testing"

	"fulcrum/internal/upstream"
)

// Hash values computed with zlib's crc32 from nginx's formula
// sum += (crc32([REHASH] KEY) >> 16) & 0x7fff:
//
//	"/index.html": 27170, 57374, 57984, ... (mod 3: 2 2 0)
//	"/a":          26992, ...               (mod 3: 1)
//	"user42":      31791, 56004, ...        (mod 3: 0 0)
func TestHashKeys(t *testing.T) {
	three := []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")}
	tests := []struct {
		name    string
		servers []upstream.Settings
		key     string
		want    string
	}{
		{"/index.html: 27170 % 3 = 2", three, "/index.html", "c c c"},
		{"/a: 26992 % 3 = 1", three, "/a", "b b b"},
		{"user42: 31791 % 3 = 0", three, "user42", "a a a"},
		// Weights 1 2 1 (total 4): 27170 % 4 = 2 -> b.
		{"weighted", []upstream.Settings{srv("a:1"), srv("b:1", weight(2)), srv("c:1")}, "/index.html", "b b b"},
		{"empty key: round robin", three, "", "a b c"},
		{"one primary: round robin", []upstream.Settings{srv("a:1"), srv("x:1", backup)}, "/a", "a a a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := picks(t, newPool(t, tt.servers...), &Hash{}, Input{Key: tt.key}, 3); got != tt.want {
				t.Fatalf("picks %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHashRehash(t *testing.T) {
	t.Run("unusable server: rehash with the round number", func(t *testing.T) {
		// 27170 -> c (down), 57374 -> c (down), 57984 -> a.
		p := newPool(t, srv("a:1"), srv("b:1"), srv("c:1", down))
		var a Attempt
		a.Reset(p, &Hash{}, Input{Key: "/index.html"})
		s, _ := a.Next(t0)
		if short(s) != "a" || a.ptries != 2 {
			t.Fatalf("got %s after %d rehashes, want a after 2", short(s), a.ptries)
		}
	})
	t.Run("retries continue the sum", func(t *testing.T) {
		// user42: 31791 -> a, 56004 -> a tried, 84545 -> c, 103243 -> b.
		p := newPool(t, srv("a:1"), srv("b:1"), srv("c:1"))
		var a Attempt
		if got := walk(t, &a, p, &Hash{}, Input{Key: "user42"}, upstream.Neutral); got != "a c b -" {
			t.Fatalf("tried %q, want %q", got, "a c b -")
		}
	})
	t.Run("round robin after 20 rehashes", func(t *testing.T) {
		p := newPool(t, srv("a:1", down), srv("b:1", down), srv("c:1", down))
		var a Attempt
		a.Reset(p, &Hash{}, Input{Key: "/index.html"})
		if _, err := a.Next(t0); err != ErrNoLiveUpstream || a.ptries != 21 {
			t.Fatalf("err %v after %d candidates, want ErrNoLiveUpstream after 21", err, a.ptries)
		}
	})
}
