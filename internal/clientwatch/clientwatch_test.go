package clientwatch

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// aborter counts its Abort calls.
type aborter struct{ n atomic.Int32 }

func (a *aborter) Abort() { a.n.Add(1) }

// writer is a Watcher that can watch (or declines) and lets the test say
// whether the client went away.
type writer struct {
	can, gone bool
	watched   Aborter
}

func (w *writer) WatchClient(a Aborter) bool {
	if !w.can {
		return false
	}
	w.watched = a
	return true
}

func (w *writer) UnwatchClient() bool {
	w.watched = nil
	return !w.gone
}

// TestWatch checks each way a watch runs: the writer's when it can, the
// context's when it declines or there is none, none when the context is
// never done; End reports the client gone once, then true.
func TestWatch(t *testing.T) {
	tests := []struct {
		name        string
		w           *writer
		background  bool // a context that is never done
		cancel      bool // the client goes away (the context is cancelled)
		wantActive  bool
		wantEnd     bool
		wantAborted int32
	}{
		{"writer watches, client stays", &writer{can: true}, false, false, true, true, 0},
		{"writer watches, client gone", &writer{can: true, gone: true}, false, false, true, false, 0},
		{"writer declines, context cancelled", &writer{}, false, true, true, false, 1},
		{"no writer, client stays", nil, false, false, true, true, 0},
		{"ignored aborts", nil, true, true, false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.background {
				ctx = context.Background()
			}
			a := &aborter{}
			var w Watcher
			if tt.w != nil {
				w = tt.w
			}
			watch := Start(ctx, w, a)
			if watch.Active() != tt.wantActive {
				t.Errorf("Active() = %v, want %v", watch.Active(), tt.wantActive)
			}
			if tt.cancel {
				cancel()
				for deadline := time.Now().Add(2 * time.Second); a.n.Load() < tt.wantAborted && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}
			if got := watch.End(); got != tt.wantEnd {
				t.Errorf("End() = %v, want %v", got, tt.wantEnd)
			}
			if got := watch.End(); !got {
				t.Error("a second End() reported the client gone again")
			}
			if got := a.n.Load(); got != tt.wantAborted {
				t.Errorf("Abort called %d times, want %d", got, tt.wantAborted)
			}
			if tt.w != nil && tt.w.watched != nil {
				t.Error("the writer still watches after End")
			}
		})
	}
}
