//go:build race

package pcre

// raceEnabled reports that the race detector is on: it makes sync.Pool drop
// items at random, so regexp's pooled matchers allocate now and then.
const raceEnabled = true
