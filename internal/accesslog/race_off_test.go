//go:build !race

package accesslog

// raceEnabled reports that the race detector is on; see race_on_test.go.
const raceEnabled = false
