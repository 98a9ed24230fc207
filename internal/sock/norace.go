//go:build !race

package sock

// raceEnabled is false outside race-detector builds: Read and Write make
// their raw socket calls (see race.go).
const raceEnabled = false
