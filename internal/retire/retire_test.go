package retire

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestCounter(t *testing.T) {
	tests := []struct {
		name  string
		steps string // e: Enter, l: Leave, r: Retire
		want  int32  // releases after the steps
	}{
		{"retired idle releases at once", "r", 1},
		{"in use waits for the last leave", "eer", 0},
		{"last leave after retire releases", "eerll", 1},
		{"leave before retire does not release", "elel", 0},
		{"released once", "erlr", 1},
		{"no release without retire", "eelll", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			c := &Counter{Release: func() { n.Add(1) }}
			for _, s := range tt.steps {
				switch s {
				case 'e':
					c.Enter()
				case 'l':
					c.Leave()
				case 'r':
					c.Retire()
				}
			}
			if got := n.Load(); got != tt.want {
				t.Errorf("%d releases, want %d", got, tt.want)
			}
		})
	}
}

// TestCounterConcurrent: users entering and leaving on many goroutines while
// the configuration is retired release it exactly once, after they all left.
func TestCounterConcurrent(t *testing.T) {
	var released atomic.Int32
	var inside atomic.Int32
	c := &Counter{Release: func() {
		if inside.Load() != 0 {
			t.Error("released with users inside")
		}
		released.Add(1)
	}}
	var wg sync.WaitGroup
	c.Enter() // holds the configuration until every goroutine started
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Enter()
				inside.Add(1)
				inside.Add(-1)
				c.Leave()
			}
		})
	}
	c.Retire()
	wg.Wait()
	if released.Load() != 0 {
		t.Fatal("released while the first user was still in")
	}
	c.Leave()
	if released.Load() != 1 {
		t.Fatalf("%d releases, want 1", released.Load())
	}
}

func TestCounterNoRelease(t *testing.T) {
	var c Counter
	c.Retire() // no Release set: nothing to run, no panic
	c.Enter()
	c.Leave()
}
