//go:build race

package daemon_test

// raceEnabled reports that the race detector is on: it makes sync.Pool drop
// a quarter of what is put back and instruments memory, so allocation
// counts are higher and only loosely bounded.
const raceEnabled = true
