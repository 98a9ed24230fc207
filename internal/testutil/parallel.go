package testutil

import (
	"flag"
	"strconv"
)

// RaiseParallel sets -test.parallel to n unless the command line set it; a
// package's TestMain calls it before m.Run. It is for packages whose
// parallel tests spend their time waiting on timers in servers (abort
// checks, timeouts, expiries), not on the test binary's CPU: testing's
// default, GOMAXPROCS (2 on the CI machine), would leave it idle.
func RaiseParallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
