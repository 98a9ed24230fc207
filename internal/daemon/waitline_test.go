package daemon_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitLine polls the file at path for up to within until a line matches
// (what says how, for the failure) and returns that line.
func waitLine(t *testing.T, path, what string, within time.Duration, match func(line string) bool) string {
	t.Helper()
	for deadline := time.Now().Add(within); ; {
		data, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(data), "\n") {
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line %s in %s within %v:\n%s", what, path, within, data)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForLine polls the file at path until it has the whole line.
func waitForLine(t *testing.T, path, line string) {
	t.Helper()
	waitLine(t, path, strconv.Quote(line), 2*time.Second, func(l string) bool { return l == line })
}
