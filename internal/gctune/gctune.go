// Package gctune sizes the Go garbage collector's headroom to fulcrum's live
// heap.
//
// Go's default (GOGC=100) lets the heap grow by as much again as the memory
// the last collection counted (the live heap, goroutine stacks and globals)
// before it collects again, and to at least 4 MiB. A proxy's live heap is
// mostly per-connection state (buffers, request structures) and its stacks
// a fixed few KiB per connection, so with many connections open most of its
// memory is that headroom.
//
// A Tuner keeps the headroom at half the live heap and at least MinHeadroom
// (3 MiB), and never above Go's default: with few connections (a live heap
// of a MiB or two) the collector runs as by default; with 400 busy ones
// about 4 MiB less memory is held, for collections about twice as frequent
// there (each a few milliseconds of CPU). After every collection it sets the
// collector's percentage (debug.SetGCPercent) from what the runtime reports
// (runtime/metrics), a few microseconds' work.
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MinHeadroom is the least headroom a Tuner leaves, so that a small heap is
// not collected much more often than by default (where the heap may reach
// 4 MiB).
const MinHeadroom = 3 << 20

// Policy says how much headroom the collector gets.
type Policy struct {
	// Ratio is the headroom as a share of the live heap (0.5: half).
	Ratio float64
	// MinHeadroom is the least headroom in bytes.
	MinHeadroom uint64
}

// DefaultPolicy returns fulcrum's policy: half the live heap, at least
// 3 MiB.
func DefaultPolicy() Policy { return Policy{Ratio: 0.5, MinHeadroom: MinHeadroom} }

// Bounds of the percentage a Tuner sets: below 10 the collector would run
// nearly all the time; above Go's default 100 the heap's minimum grows too
// (4 MiB times GOGC/100), and a Tuner never gives more headroom than Go's
// default.
const (
	minPercent = 10
	maxPercent = 100
)

// Percent is the GOGC percentage that gives policy p's headroom when live
// bytes of heap are live and scannable bytes (live heap, goroutine stacks and
// globals) are what the collector counts: Go's heap goal is live +
// scannable*GOGC/100. It is at most 100, Go's default.
func Percent(p Policy, live, scannable uint64) int {
	if scannable == 0 {
		return maxPercent
	}
	headroom := math.Max(p.Ratio*float64(live), float64(p.MinHeadroom))
	pct := int(math.Ceil(100 * headroom / float64(scannable)))
	return min(max(pct, minPercent), maxPercent)
}

// Overridden reports whether the environment sets the collector itself
// (GOGC or GOMEMLIMIT): a Tuner then leaves it alone.
func Overridden(getenv func(string) string) bool {
	return getenv("GOGC") != "" || getenv("GOMEMLIMIT") != ""
}

// Tuner re-sizes the collector's headroom after every collection.
type Tuner struct {
	policy  Policy
	samples []metrics.Sample
	set     func(int) int // debug.SetGCPercent

	mu      sync.Mutex
	stopped bool
	percent int // last set; 0 before the first
	applied int // collections seen
}

// metric names the Tuner reads (runtime/metrics, Go 1.21 and later).
const (
	liveHeap = "/gc/heap/live:bytes"
	stacks   = "/gc/scan/stack:bytes"
	globals  = "/gc/scan/globals:bytes"
)

// Start starts a Tuner with policy p, unless the environment sets GOGC or
// GOMEMLIMIT (then it returns nil). The percentage is set at once and again
// after each collection.
func Start(p Policy) *Tuner {
	if Overridden(os.Getenv) {
		return nil
	}
	t := newTuner(p, debug.SetGCPercent)
	t.adjust()
	t.arm()
	return t
}

func newTuner(p Policy, set func(int) int) *Tuner {
	return &Tuner{
		policy: p,
		set:    set,
		samples: []metrics.Sample{
			{Name: liveHeap}, {Name: stacks}, {Name: globals},
		},
	}
}

// Stop stops the tuning and gives the collector back Go's default (100).
// It is safe on a nil Tuner.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	t.set(100)
}

// Percent returns the percentage last set, 0 before the first.
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Adjustments returns how many times the Tuner has looked at the heap: once
// at the start and once after each collection since.
func (t *Tuner) Adjustments() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.applied
}

// adjust reads the live heap and sets the percentage; it reports false once
// the Tuner is stopped.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.samples)
	var v [3]uint64
	for i, s := range t.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return true // an older runtime: leave the default
		}
		v[i] = s.Value.Uint64()
	}
	t.applied++
	pct := Percent(t.policy, v[0], v[0]+v[1]+v[2])
	if pct != t.percent {
		t.set(pct)
		t.percent = pct
	}
	return true
}

// sentinel is an object nothing refers to: its finalizer runs after the
// collection that finds it unreachable, which is how the Tuner hears of each
// collection. It holds a pointer so that it is not batched with other tiny
// objects (which would delay its finalizer).
type sentinel struct{ t *Tuner }

// arm sets up the sentinel for the next collection.
func (t *Tuner) arm() {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.t.adjust() {
			s.t.arm()
		}
	})
}
