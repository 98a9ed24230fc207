//go:build race

package accesslog

// raceEnabled reports that the race detector is on: it makes sync.Pool drop
// items at random, so pooled line buffers allocate now and then.
const raceEnabled = true
