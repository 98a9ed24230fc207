package balancer

// smallTried is how many servers a tier may have before the tried set
// needs memory beyond the Attempt itself.
const smallTried = 128

// tried is the per-request set of server indexes already tried in the
// current tier: a bitset, inline for tiers of up to 128 servers, with a
// reused heap part beyond (nginx does the same beyond 64).
type tried struct {
	small [smallTried / 64]uint64
	big   []uint64 // bits for indexes >= smallTried
}

// reset empties the set and sizes it for tiers of up to n servers.
func (t *tried) reset(n int) {
	t.small = [smallTried / 64]uint64{}
	need := 0
	if n > smallTried {
		need = (n - smallTried + 63) / 64
	}
	if cap(t.big) < need {
		t.big = make([]uint64, need)
	}
	t.big = t.big[:need]
	clear(t.big)
}

// clear empties the set, keeping its size (a move to the backup tier).
func (t *tried) clear() {
	t.small = [smallTried / 64]uint64{}
	clear(t.big)
}

func (t *tried) word(i int) *uint64 {
	if i < smallTried {
		return &t.small[i/64]
	}
	return &t.big[(i-smallTried)/64]
}

// has reports whether server i was tried.
func (t *tried) has(i int) bool { return *t.word(i)&(1<<(uint(i)%64)) != 0 }

// set marks server i as tried.
func (t *tried) set(i int) { *t.word(i) |= 1 << (uint(i) % 64) }

// copyFrom makes t the same set as src, reusing t's memory.
func (t *tried) copyFrom(src *tried) {
	t.small = src.small
	t.big = append(t.big[:0], src.big...)
}
