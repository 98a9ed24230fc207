package pace

import (
	"context"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestAllow: nginx's limit (rate × (time since the start + 1 s) − (sent −
// limit_rate_after)) on an exact clock, the quantum that keeps writes from
// shrinking to a few bytes, and the waits until the next quantum.
func TestAllow(t *testing.T) {
	const k = 1024
	tests := []struct {
		name       string
		l          Limit
		done, want int64
		at         time.Duration
		n          int64
		wait       time.Duration
	}{
		{"no limit", Limit{}, 1 << 40, 10, 0, math.MaxInt64, 0},
		{"first second at once", Limit{Rate: 100 * k}, 0, 300 * k, 0, 100 * k, 0},
		{"first second spent", Limit{Rate: 100 * k}, 100 * k, 300 * k, 0, 0, 50*time.Millisecond + time.Millisecond},
		{"half a second later", Limit{Rate: 100 * k}, 100 * k, 300 * k, 500 * time.Millisecond, 50 * k, 0},
		{"less than a quantum earned", Limit{Rate: 100 * k}, 100 * k, 300 * k, 20 * time.Millisecond, 0, 30*time.Millisecond + time.Millisecond},
		{"a small want needs less", Limit{Rate: 100 * k}, 100 * k, 1 * k, 20 * time.Millisecond, 2048, 0},
		{"ahead of the clock", Limit{Rate: 100 * k}, 250 * k, 300 * k, time.Second, 0, 500*time.Millisecond + 50*time.Millisecond + time.Millisecond},
		{"free bytes first", Limit{Rate: 100 * k, Free: 200 * k}, 0, 400 * k, 0, 300 * k, 0},
		{"free bytes spent", Limit{Rate: 100 * k, Free: 200 * k}, 300 * k, 400 * k, 0, 0, 51 * time.Millisecond},
		{"a clock before the start", Limit{Rate: 100 * k}, 0, 300 * k, -time.Hour, 100 * k, 0},
		{"quantum at most 16k", Limit{Rate: 10 << 20}, 10 << 20, 1 << 20, 0, 0, time.Duration(16*k*int64(time.Second)/(10<<20)) + time.Millisecond},
		{"quantum at least a byte", Limit{Rate: 10}, 10, 100, 0, 0, 100*time.Millisecond + time.Millisecond},
		{"huge rate", Limit{Rate: math.MaxInt64}, 1 << 50, 1, 24 * time.Hour, math.MaxInt64 - 1<<50, 0},
		{"huge free", Limit{Rate: 1, Free: math.MaxInt64}, 0, 1, 0, math.MaxInt64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			l.Start = t0
			n, wait := l.Allow(tt.done, tt.want, t0.Add(tt.at))
			if n != tt.n || wait != tt.wait {
				t.Errorf("Allow = %d, %v; want %d, %v", n, wait, tt.n, tt.wait)
			}
		})
	}
}

// TestPacedTransfer drives a whole transfer on a fake clock: each write
// takes what Allow gives, each wait advances the clock. 300 KiB at 100 KiB/s
// after 0 free bytes take two seconds (the first second's worth goes at
// once), and never run ahead of the limit.
func TestPacedTransfer(t *testing.T) {
	tests := []struct {
		name        string
		rate, free  int64
		size        int64
		total       time.Duration // the clock when the last byte went
		maxAheadOff int64
	}{
		{"rate", 100 << 10, 0, 300 << 10, 2 * time.Second, 0},
		{"free bytes", 100 << 10, 200 << 10, 300 << 10, 0, 0},
		{"free and paced", 100 << 10, 100 << 10, 400 << 10, 2 * time.Second, 0},
		{"smaller than a second's worth", 100 << 10, 0, 50 << 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			p := Pacer{Limit: Limit{Rate: tt.rate, Free: tt.free, Start: t0},
				Clock: func() time.Time { return now },
				Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil }}
			var done int64
			writes := 0
			for done < tt.size {
				n, wait := p.Allow(done, tt.size-done, p.Now())
				if n == 0 {
					if err := p.Wait(context.Background(), wait); err != nil {
						t.Fatal(err)
					}
					continue
				}
				done += min(n, tt.size-done)
				writes++
				// Never ahead: what went is within the budget of the time.
				budget := tt.rate*int64(now.Sub(t0)+time.Second)/int64(time.Second) + tt.free
				if done > budget {
					t.Fatalf("at %v sent %d, over the budget %d", now.Sub(t0), done, budget)
				}
			}
			// Waits end up to a millisecond late, and each quantum is a
			// twentieth of a second's worth: within 25 ms per second.
			got := now.Sub(t0)
			slack := 25 * time.Millisecond * (tt.total/time.Second + 1)
			if got < tt.total || got > tt.total+slack {
				t.Errorf("the transfer ended at %v, want %v (+%v)", got, tt.total, slack)
			}
			if tt.total > 0 && writes > int(tt.total/time.Second)*21+2 {
				t.Errorf("%d writes: the pace wrote in pieces smaller than a quantum", writes)
			}
		})
	}
}

// TestWait: the real sleep ends after its time, or at once when the
// context is done, and its timer is reused.
func TestWait(t *testing.T) {
	var p Pacer
	start := time.Now()
	if err := p.Wait(context.Background(), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Errorf("woke after %v, want at least 5ms", d)
	}
	first := p.timer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	if err := p.Wait(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Wait with a done context = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a done context still slept %v", d)
	}
	if p.timer != first {
		t.Error("a second wait made another timer")
	}
	p.Stop()
	if p.Rate != 0 {
		t.Error("Stop kept the limit")
	}
}
