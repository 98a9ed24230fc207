package upstream

import (
	"testing"
	"time"
)

// BenchmarkAcquireRelease is one pick plus one successful release on a
// four-server pool, serial and from 8 goroutines, with the two ways a
// release can end the attempt: "atomic" is the lock-free fast path that
// Release takes for a non-failure on a server without failures, "mutex"
// the locked path it uses for failures and probes. The choice is
// explained in Server.Release.
func BenchmarkAcquireRelease(b *testing.B) {
	servers := []Settings{server("a:1", weight(3)), server("b:1"), server("c:1"), server("d:1", backup)}
	releases := []struct {
		name    string
		release func(s *Server, now time.Time)
	}{
		{"atomic", func(s *Server, now time.Time) { s.Release(now, Success) }},
		{"mutex", func(s *Server, now time.Time) { s.releaseLocked(now, Success) }},
	}
	for _, r := range releases {
		b.Run("serial/"+r.name, func(b *testing.B) {
			p := mustPool(b, servers...)
			now := at(0)
			b.ReportAllocs()
			for b.Loop() {
				r.release(p.Acquire(false, now, swrr{}), now)
			}
		})
		b.Run("parallel/"+r.name, func(b *testing.B) {
			p := mustPool(b, servers...)
			now := at(0)
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.release(p.Acquire(false, now, swrr{}), now)
				}
			})
		})
	}
}
