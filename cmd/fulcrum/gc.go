package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's target when GOGC is not set:
// the heap may grow to 1.5 times what is live between two collections,
// instead of Go's default of 2 times. fulcrum's live heap is small (buffers
// and a few objects per connection), so collecting twice as often costs
// little CPU, while the headroom was most of its memory under load:
// bench/README.md, "Memory under load": 31 MiB against 26.5 MiB of RSS with
// 400 busy connections, and no difference in CPU per request beyond the
// machine's noise.
const defaultGCPercent = 50

// applyGCPercent sets defaultGCPercent unless the GOGC environment variable
// is set (getenv reads it), which keeps the last word: GOGC=100 restores
// Go's default, GOGC=off turns collection off. It reports whether it set the
// default.
func applyGCPercent(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
