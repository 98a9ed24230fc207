package daemon

import (
	"testing"
)

// TestHeaderValuesStorage: within one response every HeaderValues call gets
// strings of its own, so an earlier call's values (already in the header
// map) are never overwritten; the next response reuses the storage, cleared,
// without allocating.
func TestHeaderValuesStorage(t *testing.T) {
	w := &respWriter{header: map[string][]string{}}
	first := w.HeaderValues(3)
	for i := range first {
		first[i] = "first"
	}
	second := w.HeaderValues(20) // more than the storage holds: new storage
	for i := range second {
		second[i] = "second"
	}
	third := w.HeaderValues(2)
	for i := range third {
		third[i] = "third"
	}
	for i, v := range first {
		if v != "first" {
			t.Fatalf("first[%d] = %q after later calls", i, v)
		}
	}
	for i, v := range second {
		if v != "second" {
			t.Fatalf("second[%d] = %q after a later call", i, v)
		}
	}
	w.reset(false)
	if got := w.HeaderValues(5); len(got) != 5 || got[0] != "" || got[4] != "" {
		t.Fatalf("after reset: %q, want 5 empty strings", got)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		w.reset(false)
		vs := w.HeaderValues(8)
		vs[0] = "x"
	}); allocs != 0 {
		t.Errorf("%v allocations per response once warm, want 0", allocs)
	}
}
