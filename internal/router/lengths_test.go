package router

import "testing"

// TestLengthSet: a recorded length is found, an unrecorded one is not, and
// lengths from 256 on are always "maybe" (their keys are looked up).
func TestLengthSet(t *testing.T) {
	var s lengthSet
	for _, n := range []int{0, 1, 63, 64, 127, 255, 256, 1000} {
		s.add(n)
	}
	for n, want := range map[int]bool{
		0: true, 1: true, 2: false, 62: false, 63: true, 64: true, 65: false,
		127: true, 128: false, 254: false, 255: true, 256: true, 257: true, 5000: true,
	} {
		if got := s.has(n); got != want {
			t.Errorf("has(%d) = %v, want %v", n, got, want)
		}
	}
	var empty lengthSet
	if empty.has(5) || !empty.has(300) {
		t.Errorf("empty set: has(5) %v, has(300) %v; want false, true", empty.has(5), empty.has(300))
	}
}
