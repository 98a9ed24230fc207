//go:build race

package admin

// raceEnabled reports that the race detector is on: it adds allocations
// of its own, so allocation counts are not checked then.
const raceEnabled = true
