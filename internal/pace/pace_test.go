package pace

import (
	"context"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestAllow: nginx's pace on an exact clock. Once it has paid for what it
// sent (rate × time since the start ≥ sent − limit_rate_after), a transfer
// may send up to rate × (time since the start + 1 s) − (sent −
// limit_rate_after); until then it waits.
func TestAllow(t *testing.T) {
	const k = 1024
	tests := []struct {
		name string
		l    Limit
		done int64
		at   time.Duration
		n    int64
		wait time.Duration
	}{
		{"no limit", Limit{}, 1 << 40, 0, math.MaxInt64, 0},
		{"first second at once", Limit{Rate: 100 * k}, 0, 0, 100 * k, 0},
		{"first second sent", Limit{Rate: 100 * k}, 100 * k, 0, 0, time.Second + time.Nanosecond},
		{"half of it paid", Limit{Rate: 100 * k}, 100 * k, 500 * time.Millisecond, 0, 500*time.Millisecond + time.Nanosecond},
		{"paid", Limit{Rate: 100 * k}, 100 * k, time.Second, 100 * k, 0},
		{"paid and more", Limit{Rate: 100 * k}, 100 * k, 1500 * time.Millisecond, 150 * k, 0},
		{"a byte sent", Limit{Rate: 100 * k}, 1, 0, 0, time.Duration(int64(time.Second)/(100*k)) + time.Nanosecond},
		{"free bytes first", Limit{Rate: 100 * k, Free: 200 * k}, 0, 0, 300 * k, 0},
		{"free bytes partly sent", Limit{Rate: 100 * k, Free: 200 * k}, 150 * k, 0, 150 * k, 0},
		{"free bytes and a second sent", Limit{Rate: 100 * k, Free: 200 * k}, 300 * k, 0, 0, time.Second + time.Nanosecond},
		{"a clock before the start", Limit{Rate: 100 * k}, 0, -time.Hour, 100 * k, 0},
		{"a tiny rate", Limit{Rate: 1}, 1, 0, 0, time.Second + time.Nanosecond},
		{"huge rate", Limit{Rate: math.MaxInt64}, 1 << 50, 24 * time.Hour, math.MaxInt64 - 1<<50, 0},
		{"huge free", Limit{Rate: 1, Free: math.MaxInt64}, 0, 0, math.MaxInt64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			l.Start = t0
			n, wait := l.Allow(tt.done, t0.Add(tt.at))
			if n != tt.n || wait != tt.wait {
				t.Errorf("Allow = %d, %v; want %d, %v", n, wait, tt.n, tt.wait)
			}
		})
	}
}

// TestPacedTransfer drives whole transfers on a fake clock: each write
// takes what Allow gives, each wait advances the clock. A transfer ends
// when its last bytes went, so it takes (size − free − the last second's
// worth) / rate, as nginx's (which sleeps after each send for what it
// sent) takes with a socket that takes every send whole.
func TestPacedTransfer(t *testing.T) {
	const k = 1024
	tests := []struct {
		name             string
		rate, free, size int64
		total            time.Duration // the clock when the last byte went
		writes           int
	}{
		{"rate", 100 * k, 0, 300 * k, 2 * time.Second, 3},
		{"not a whole second's worth last", 100 * k, 0, 150 * k, time.Second, 2},
		{"free bytes", 100 * k, 200 * k, 300 * k, 0, 1},
		{"free and paced", 100 * k, 100 * k, 400 * k, 2 * time.Second, 3},
		{"smaller than a second's worth", 100 * k, 0, 50 * k, 0, 1},
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
				n, wait := p.Allow(done, p.Now())
				if n == 0 {
					if err := p.Wait(context.Background(), wait); err != nil {
						t.Fatal(err)
					}
					continue
				}
				// Never ahead: what went is within the budget of the time.
				budget := tt.rate*int64(now.Sub(t0)+time.Second)/int64(time.Second) + tt.free
				done += min(n, tt.size-done)
				writes++
				if done > budget {
					t.Fatalf("at %v sent %d, over the budget %d", now.Sub(t0), done, budget)
				}
			}
			if got := now.Sub(t0); got < tt.total || got > tt.total+time.Millisecond {
				t.Errorf("the transfer ended at %v, want %v", got, tt.total)
			}
			if writes != tt.writes {
				t.Errorf("%d writes, want %d", writes, tt.writes)
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
