package daemon

import (
	"sync"
	"sync/atomic"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

func TestConnZoneCounts(t *testing.T) {
	z, err := newConnZone(&config.LimitConnZone{Name: "addr", Key: "$binary_remote_addr"}, &vars.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		key     string
		acquire bool // else release the oldest count of key
		wantOK  bool
	}
	tests := []struct {
		name  string
		limit int
		steps []step
	}{
		{"up to the limit", 2, []step{{"a", true, true}, {"a", true, true}, {"a", true, false}}},
		{"keys are independent", 1, []step{{"a", true, true}, {"b", true, true}, {"a", true, false}}},
		{"a release frees a count", 1, []step{{"a", true, true}, {"a", true, false}, {"a", false, true}, {"a", true, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			heldBy := map[string][]heldConn{}
			for i, s := range tt.steps {
				if !s.acquire {
					heldBy[s.key][0].release()
					heldBy[s.key] = heldBy[s.key][1:]
					continue
				}
				h, ok := z.acquire([]byte(s.key), tt.limit)
				if ok != s.wantOK {
					t.Fatalf("step %d: acquire %q = %t, want %t", i, s.key, ok, s.wantOK)
				}
				if ok {
					heldBy[s.key] = append(heldBy[s.key], h)
				}
			}
			for _, hs := range heldBy {
				for _, h := range hs {
					h.release()
				}
			}
			for i := range z.shards {
				if n := len(z.shards[i].n); n != 0 {
					t.Fatalf("shard %d keeps %d keys after every release", i, n)
				}
			}
		})
	}
}

// TestConnZoneConcurrent checks, under -race, that concurrent requests never
// hold more than the limit for one key.
func TestConnZoneConcurrent(t *testing.T) {
	z, err := newConnZone(&config.LimitConnZone{Name: "addr", Key: "$binary_remote_addr"}, &vars.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	const limit = 3
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				h, ok := z.acquire([]byte("k"), limit)
				if !ok {
					continue
				}
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n) // racy maximum, but any value over limit is a real excess
				}
				inside.Add(-1)
				h.release()
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > limit {
		t.Errorf("%d held at once, limit %d", m, limit)
	}
}

// BenchmarkConnZone measures one count and its release, from parallel
// requests with different keys (the usual case: one key per client address).
func BenchmarkConnZone(b *testing.B) {
	z, err := newConnZone(&config.LimitConnZone{Name: "addr", Key: "$binary_remote_addr"}, &vars.Compiler{})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := next.Add(1)
		key := []byte{10, 0, byte(id >> 8), byte(id)}
		for pb.Next() {
			h, ok := z.acquire(key, 10)
			if !ok {
				b.Fatal("refused")
			}
			h.release()
		}
	})
}
