package balancer

import (
	"strconv"
	"strings"
	"testing"

	"fulcrum/internal/upstream"
)

func TestSplitServerName(t *testing.T) {
	tests := []struct{ name, host, port string }{
		{"10.0.0.1:80", "10.0.0.1", "80"},
		{"[::1]:8080", "[::1]", "8080"},
		{"backend.example.com", "backend.example.com", ""},
		{"unix:/run/app.sock", "/run/app.sock", ""},
		{"UNIX:/tmp/x:80", "/tmp/x:80", ""},
		{"host:", "host", ""},
		{"a:b", "a:b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, p := splitServerName(tt.name); h != tt.host || p != tt.port {
				t.Fatalf("split = %q %q, want %q %q", h, p, tt.host, tt.port)
			}
		})
	}
}

// TestConsistentHashMatchesNginx checks keys against an independent
// implementation of nginx's ketama (Python with zlib.crc32: points
// crc32(HOST "\0" PORT PREV_LE32), 160 per weight unit, sorted, first
// point >= crc32(KEY)).
func TestConsistentHashMatchesNginx(t *testing.T) {
	p := newPool(t, srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80", weight(2)),
		srv("unix:/run/app.sock"), srv("backend.example.com"))
	h := NewConsistentHash(p)
	if want := 6 * 160; len(h.points) != want {
		t.Fatalf("%d points, want %d", len(h.points), want)
	}
	tests := []struct{ key, want string }{
		{"/", "10.0.0.2:80"},
		{"/index.html", "backend.example.com"},
		{"/img/logo.png", "unix:/run/app.sock"},
		{"user42", "backend.example.com"},
		{"abc", "unix:/run/app.sock"},
		{"session-9", "10.0.0.3:80"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := chashPick(t, p, h, tt.key); got != tt.want {
				t.Fatalf("key %q -> %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

// chashPick returns the server name key maps to.
func chashPick(t testing.TB, p *upstream.Pool, h *ConsistentHash, key string) string {
	t.Helper()
	var a Attempt
	a.Reset(p, h, Input{Key: key})
	s, err := a.Next(t0)
	if err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	a.Release(t0, upstream.Success)
	return s.Name()
}

// mapKeys maps n keys through a consistent hash of servers.
func mapKeys(t testing.TB, servers []upstream.Settings, n int) []string {
	p := newPool(t, servers...)
	h := NewConsistentHash(p)
	out := make([]string, n)
	for i := range out {
		out[i] = chashPick(t, p, h, "key-"+strconv.Itoa(i))
	}
	return out
}

func TestConsistentHashRemapsAboutOneNth(t *testing.T) {
	const keys = 10000
	for _, n := range []int{3, 4, 8} {
		t.Run(strconv.Itoa(n)+" servers plus one", func(t *testing.T) {
			var servers []upstream.Settings
			for i := range n {
				servers = append(servers, srv("10.0.0."+strconv.Itoa(i+1)+":80"))
			}
			before := mapKeys(t, servers, keys)
			added := "10.0.0." + strconv.Itoa(n+1) + ":80"
			after := mapKeys(t, append(servers, srv(added)), keys)
			moved := 0
			for i := range before {
				if before[i] == after[i] {
					continue
				}
				moved++
				if after[i] != added {
					t.Fatalf("key-%d moved from %s to %s, not to the new server", i, before[i], after[i])
				}
			}
			want := float64(keys) / float64(n+1)
			if f := float64(moved); f < 0.7*want || f > 1.3*want {
				t.Fatalf("%d of %d keys moved, want about %.0f (1/%d)", moved, keys, want, n+1)
			}
		})
	}
}

func TestConsistentHashDownServerMovesOnlyItsKeys(t *testing.T) {
	const keys = 2000
	servers := []upstream.Settings{srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80")}
	before := mapKeys(t, servers, keys)
	servers[1] = srv("10.0.0.2:80", down)
	after := mapKeys(t, servers, keys)
	for i := range before {
		switch {
		case before[i] == "10.0.0.2:80" && after[i] == "10.0.0.2:80":
			t.Fatalf("key-%d still on the down server", i)
		case before[i] != "10.0.0.2:80" && after[i] != before[i]:
			t.Fatalf("key-%d moved from %s to %s though its server is up", i, before[i], after[i])
		}
	}
}

func TestConsistentHashWeight(t *testing.T) {
	got := mapKeys(t, []upstream.Settings{srv("10.0.0.1:80", weight(2)), srv("10.0.0.2:80")}, 10000)
	heavy := 0
	for _, s := range got {
		if s == "10.0.0.1:80" {
			heavy++
		}
	}
	if heavy < 6000 || heavy > 7300 {
		t.Fatalf("weight-2 server got %d of 10000 keys, want about two thirds", heavy)
	}
}

func TestConsistentHashRetriesAndFallback(t *testing.T) {
	servers := []upstream.Settings{srv("10.0.0.1:80"), srv("10.0.0.2:80"), srv("10.0.0.3:80")}
	t.Run("retries walk the ring to the other servers", func(t *testing.T) {
		p := newPool(t, servers...)
		h := NewConsistentHash(p)
		var a Attempt
		got := strings.Fields(walk(t, &a, p, h, Input{Key: "user42"}, upstream.Neutral))
		if len(got) != 4 || got[3] != "-" || got[0] != chashPick(t, p, h, "user42") {
			t.Fatalf("walk %q: want the key's server, then the two others, then ErrNoLiveUpstream", got)
		}
		if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
			t.Fatalf("walk %q repeats a server", got)
		}
	})
	t.Run("empty key: round robin", func(t *testing.T) {
		p := newPool(t, servers...)
		if got := picks(t, p, NewConsistentHash(p), Input{}, 3); got != "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80" {
			t.Fatalf("picks %q, want round robin order", got)
		}
	})
	t.Run("other pool panics", func(t *testing.T) {
		h := NewConsistentHash(newPool(t, servers...))
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		picks(t, newPool(t, servers...), h, Input{Key: "k"}, 1)
	})
}
