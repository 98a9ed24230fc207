package daemon_test

import (
	"os"
	"testing"

	"fulcrum/internal/testutil"
)

// waitingParallel is how many parallel tests run at once unless -parallel
// says otherwise (testutil.RaiseParallel): the tests marked parallel here
// each run their own daemon and spend their time waiting on its timers
// (timeouts, expiries, a held backend), not on the test binary's CPU.
const waitingParallel = 4

func TestMain(m *testing.M) {
	testutil.RaiseParallel(waitingParallel)
	os.Exit(m.Run())
}
