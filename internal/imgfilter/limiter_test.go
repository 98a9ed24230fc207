package imgfilter

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLimiter: with every slot taken, a transform waits and gives up with
// its context, while the answers that decode nothing go on; a freed slot
// lets the transform run.
func TestLimiter(t *testing.T) {
	body := picture(t, PNG, 40, 30)
	l := NewLimiter(1)
	l.slots <- struct{}{} // a transform in progress
	tests := []struct {
		name string
		p    Params
		wait bool
	}{
		{"resize", Params{Op: Resize, Width: 20, Height: 20, JPEGQuality: 75, MaxPixels: 1 << 20}, true},
		{"rotate", Params{Op: Rotate, Angle: 90, JPEGQuality: 75, MaxPixels: 1 << 20}, true},
		{"size", Params{Op: Size}, false},
		{"test", Params{Op: Test}, false},
		{"resize that fits", Params{Op: Resize, Width: 100, Height: 100, MaxPixels: 1 << 20}, false},
		{"bad value", Params{Op: Resize, Width: 0, Height: 100, MaxPixels: 1 << 20}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := l.Process(ctx, body, tt.p)
			if waited := errors.Is(err, context.DeadlineExceeded); waited != tt.wait {
				t.Fatalf("waited %v (%v), want %v", waited, err, tt.wait)
			}
		})
	}
	<-l.slots
	res, err := l.Process(context.Background(), body, tests[0].p)
	if err != nil || res.AsIs {
		t.Fatalf("with a free slot: %v, as is %v", err, res.AsIs)
	}
	if len(l.slots) != 0 {
		t.Fatal("the slot was not released")
	}
}
