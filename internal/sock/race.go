//go:build race

package sock

// raceEnabled is set in race-detector builds, where Read and Write go
// through package syscall (readSyscall, writeSyscall) instead of the raw
// socket calls. Package syscall tells the race detector that what one
// goroutine wrote to a descriptor happens before another goroutine's read of
// it (its ioSync annotations); the raw calls skip that, so a test whose
// backend records what it got and then answers would report a race that the
// socket's ordering rules out. The race build is for finding races, not for
// speed.
const raceEnabled = true
