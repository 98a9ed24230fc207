package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	tests := []struct {
		name            string
		live, scannable uint64
		want            int
	}{
		{"nothing counted yet", 0, 0, 100},
		{"small heap keeps Go's default", 1 * mib, 2 * mib, 100},
		{"headroom equal to the default's", 2 * mib, 3 * mib, 100},
		// 400 busy connections: 5.5 MiB live, 1 MiB of stacks, 0.5 of
		// globals; half the live heap is less than 3 MiB, so 3 MiB.
		{"many connections: the minimum headroom", 11 * mib / 2, 7 * mib, 43},
		// A big heap: half of it.
		{"big heap: half the live heap", 100 * mib, 104 * mib, 49},
		{"live heap is all there is", 64 * mib, 64 * mib, 50},
		{"never below the floor", 1 << 40, 1 << 43, minPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Percent(DefaultPolicy(), tt.live, tt.scannable)
			if got != tt.want {
				t.Errorf("Percent(live %d, scannable %d) = %d, want %d", tt.live, tt.scannable, got, tt.want)
			}
			// The goal it gives is the policy's: live plus the headroom.
			if tt.want > minPercent && tt.want < maxPercent {
				headroom := float64(tt.scannable) * float64(got) / 100
				want := max(float64(tt.live)/2, MinHeadroom)
				if headroom < want || headroom > want+float64(tt.scannable)/100 {
					t.Errorf("headroom %.0f, want %.0f", headroom, want)
				}
			}
		})
	}
}

func TestOverridden(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"GOGC": "50"}, true},
		{map[string]string{"GOGC": "off"}, true},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, true},
		{map[string]string{"GODEBUG": "gctrace=1"}, false},
	}
	for _, tt := range tests {
		got := Overridden(func(k string) string { return tt.env[k] })
		if got != tt.want {
			t.Errorf("Overridden(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

// recorder stands in for debug.SetGCPercent and records what is set.
type recorder struct {
	mu  sync.Mutex
	set []int
}

func (r *recorder) setPercent(p int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set = append(r.set, p)
	return 100
}

func (r *recorder) values() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.set...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// TestTunerFollowsEveryCollection: the tuner looks at the heap after each
// collection (its sentinel re-armed every time), and not after Stop.
func TestTunerFollowsEveryCollection(t *testing.T) {
	var r recorder
	// A policy whose headroom is far below any real heap's scannable
	// memory sets the floor percentage, so the recorder sees a call.
	tu := newTuner(Policy{Ratio: 0, MinHeadroom: 1}, r.setPercent)
	tu.adjust()
	tu.arm()
	if got := r.values(); len(got) != 1 || got[0] != minPercent {
		t.Fatalf("first adjustment set %v, want [%d]", got, minPercent)
	}
	start := tu.Adjustments()
	waitFor(t, "three adjustments after collections", func() bool { return tu.Adjustments() >= start+3 })
	if got := r.values(); len(got) != 1 {
		t.Errorf("the unchanged percentage was set again: %v", got)
	}

	tu.Stop()
	if got := r.values(); got[len(got)-1] != 100 {
		t.Errorf("Stop set %v last, want 100 (Go's default)", got)
	}
	stopped := tu.Adjustments()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(20 * time.Millisecond) // a finalizer still queued would run now
	if got := tu.Adjustments(); got != stopped {
		t.Errorf("adjustments went on after Stop: %d -> %d", stopped, got)
	}
	tu.Stop() // twice is fine
	var nilTuner *Tuner
	nilTuner.Stop()
}

// gogc reads the collector's percentage from the runtime.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("runtime/metrics has no /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

// TestStartLowersThePercentageForABigHeap runs the real tuner on this
// process: with 48 MiB live the headroom is half of it, about GOGC=50; once
// the heap is freed it is Go's default again.
func TestStartLowersThePercentageForABigHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tu := Start(DefaultPolicy())
	if tu == nil {
		t.Fatal("Start returned nil with GOGC and GOMEMLIMIT unset")
	}
	defer tu.Stop()

	live := make([][]byte, 48)
	for i := range live {
		live[i] = make([]byte, mib)
		live[i][0] = 1
	}
	waitFor(t, "a percentage near 50 with 48 MiB live", func() bool {
		p := gogc(t)
		return p >= 40 && p <= 55
	})
	if got := tu.Percent(); got != gogc(t) {
		t.Errorf("Percent() = %d, runtime says %d", got, gogc(t))
	}
	runtime.KeepAlive(live)
	live = nil
	waitFor(t, "Go's default once the heap is freed", func() bool { return gogc(t) == 100 })

	tu.Stop()
	if got := gogc(t); got != 100 {
		t.Errorf("after Stop GOGC is %d, want 100", got)
	}
}

func TestStartLeavesAnExplicitSettingAlone(t *testing.T) {
	t.Setenv("GOGC", "75")
	if tu := Start(DefaultPolicy()); tu != nil {
		tu.Stop()
		t.Fatal("Start tuned the collector although GOGC is set")
	}
}
