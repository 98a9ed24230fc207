package fastcgi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the real clock moved on by the pauses the pacer asked for,
// which return at once (the connection's deadlines stay real).
type fakeClock struct {
	mu    sync.Mutex
	slept time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.slept)
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept += d
	return nil
}

// TestLimitRate checks fastcgi_limit_rate: a buffered response body is
// read at the rate (a second's worth at once, then paced; as nginx's event
// pipe, the read that finds the end waits its turn too, so the pauses add
// up to size/rate), an unbuffered one is not paced (nginx paces only
// buffered responses), and the body arrives whole either way.
func TestLimitRate(t *testing.T) {
	const size = 100 << 10
	big := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", size)))
	})
	tests := []struct {
		name      string
		rate      int64
		buffering bool
		min, max  time.Duration // the time spent pausing
	}{
		{"10k a second", 10 << 10, true, 9900 * time.Millisecond, 10*time.Second + time.Millisecond},
		{"50k a second", 50 << 10, true, 1900 * time.Millisecond, 2*time.Second + time.Millisecond},
		{"faster than the body", 1 << 20, true, 50 * time.Millisecond, 100 * time.Millisecond},
		{"no limit", 0, true, 0, 0},
		{"unbuffered", 10 << 10, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.LimitRate, set.Buffering = tt.rate, tt.buffering
			h, _ := newHandler(t, set, 0, serveFCGI(t, "tcp", big))
			clock := &fakeClock{}
			h.now, h.sleep = clock.Now, clock.Sleep
			w := do(h, "GET", "/big.php", "")
			if w.Code != 200 || w.Body.Len() != size {
				t.Fatalf("%d, %d bytes, want 200 and %d", w.Code, w.Body.Len(), size)
			}
			if clock.slept < tt.min || clock.slept > tt.max {
				t.Errorf("paused %v, want %v to %v", clock.slept, tt.min, tt.max)
			}
		})
	}
}
