// Package integration tests the real fulcrum binary: TestMain builds it once into a
// temporary directory, and the tests run it with configurations in t.TempDir().
package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// fulcrumBin is the path of the binary TestMain built.
var fulcrumBin string

// signalHelperEnv, when set in the environment, makes the test binary act as the
// signal helper process instead of running tests; its value is the file the helper
// records signals in.
const signalHelperEnv = "FULCRUM_TEST_SIGNAL_HELPER"

// exitHelperEnv, when set in the environment, makes the test binary exit at once:
// the tests use it to get the pid of a process that is gone.
const exitHelperEnv = "FULCRUM_TEST_EXIT_HELPER"

func TestMain(m *testing.M) {
	if out := os.Getenv(signalHelperEnv); out != "" {
		os.Exit(signalHelper(out))
	}
	if os.Getenv(exitHelperEnv) != "" {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "fulcrum-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	testutil.RaiseParallel(waitingParallel)
	if err := build(filepath.Join(dir, "fulcrum")); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		fulcrumBin = filepath.Join(dir, "fulcrum")
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitingParallel is how many parallel tests run at once unless -parallel
// says otherwise (testutil.RaiseParallel). The parallel tests here run
// fulcrum processes and backends and spend their time waiting on timers
// (abort checks, timeouts, expiries), not on the test binary's CPU.
const waitingParallel = 4

// build builds cmd/fulcrum into bin as README.md says (CGO_ENABLED=0: a
// static binary, the one users run).
func build(bin string) error {
	cmd := exec.Command("go", "build", "-o", bin, "fulcrum/cmd/fulcrum")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build fulcrum: %w\n%s", err, out)
	}
	return nil
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// runFulcrum runs the binary with args and waits for it (at most 10 s).
func runFulcrum(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fulcrumBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run fulcrum %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// writeFiles writes name -> content into dir (creating subdirectories) and returns
// dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testHTTP runs "fulcrum -t" on a configuration file of an empty events
// block and an http block that holds body, from the file's third line on;
// it returns the run and the file's path.
func testHTTP(t *testing.T, body string) (result, string) {
	t.Helper()
	conf := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "events {}\nhttp {\n" + body + "\n}\n"})
	path := filepath.Join(conf, "fulcrum.conf")
	return runFulcrum(t, "-t", "-c", path, "-e", "stderr"), path
}

// checkDirectiveErrors runs "fulcrum -t" on an http block that holds each
// test's directive alone, on the file's third line, and wants exit code 1
// and the test's error followed by that position.
func checkDirectiveErrors(t *testing.T, tests []struct{ directive, want string }) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.directive, func(t *testing.T) {
			r, path := testHTTP(t, "    "+tt.directive)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want+path+":3") {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, tt.want+path+":3")
			}
		})
	}
}

// signalHelper is the process -s signals in the tests: it records every signal
// fulcrum can send as its number, one per line, in the file out, after a first line
// "ready" written once it listens. It exits after 30 s in case a test leaks it.
func signalHelper(out string) int {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1)
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 1
	}
	defer f.Close()
	if _, err := f.WriteString("ready\n"); err != nil {
		return 1
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case s := <-ch:
			fmt.Fprintf(f, "%d\n", int(s.(syscall.Signal)))
		case <-deadline:
			return 0
		}
	}
}

// startSignalHelper starts the signal helper and waits until it listens. It
// returns the helper's pid and the path of its record; the helper is killed when
// the test ends.
func startSignalHelper(t *testing.T) (pid int, record string) {
	t.Helper()
	record = filepath.Join(t.TempDir(), "signals")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), signalHelperEnv+"="+record)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitFor(t, "the signal helper to listen", func() bool { return readLines(record) != nil })
	return cmd.Process.Pid, record
}

// readLines returns the lines of the file at path; nil if it cannot be read or is
// empty.
func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
