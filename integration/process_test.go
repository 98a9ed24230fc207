package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// processConf is a configuration that sets the process settings before
// one server on 127.0.0.1:0.
func processConf(settings string) string {
	return settings + "\nevents {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        return 200 ok;\n    }\n}\n"
}

// procLimit reads the soft and hard limit named name ("Max open files")
// from /proc/PID/limits.
func procLimit(t testing.TB, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			f := strings.Fields(l[len(name):])
			return f[0] + " " + f[1]
		}
	}
	t.Fatalf("no %q in /proc/%d/limits", name, pid)
	return ""
}

// niceValues returns the distinct nice values of the process's threads
// (field 19 of /proc/PID/task/TID/stat), sorted, joined by spaces.
func niceValues(t testing.TB, pid int) string {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	seen := map[string]bool{}
	var vals []string
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		// the command name (field 2) is in parentheses and may hold spaces
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if v := f[16]; !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, " ")
}

// TestProcessSettings starts the binary with worker_rlimit_nofile,
// worker_rlimit_core, worker_priority and working_directory and reads
// what they did from /proc, as nginx's worker sets them (recorded with
// nginx 1.22.1: soft and hard limits both N, every thread's nice value,
// the cwd), then reloads with changed values.
func TestProcessSettings(t *testing.T) {
	in := startFulcrum(t, processConf("worker_rlimit_nofile 1000;\nworker_rlimit_core 1m;\nworker_priority 5;\nworking_directory %DIR%;"), 1)
	pid := in.cmd.Process.Pid
	checks := func(nofile, core, nice string) {
		t.Helper()
		waitFor(t, "limits "+nofile+", "+core+", nice "+nice, func() bool {
			return procLimit(t, pid, "Max open files") == nofile && procLimit(t, pid, "Max core file size") == core && niceValues(t, pid) == nice
		})
	}
	checks("1000 1000", "1048576 1048576", "5")
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != in.dir {
		t.Errorf("cwd %q (%v), want %q", cwd, err, in.dir)
	}
	in.rewrite(processConf("worker_rlimit_nofile 900;\nworker_rlimit_core 512k;\nworker_priority +6;"))
	in.signal(syscall.SIGHUP)
	checks("900 900", "524288 524288", "6")
	if in.logged("[alert]") {
		t.Errorf("alert logged:\n%s", strings.Join(in.logLines(), "\n"))
	}
}

// TestProcessLimitFails asks for more open files than the kernel allows
// any process (fs.nr_open, so even root fails): nginx logs
// "setrlimit(RLIMIT_NOFILE, N) failed (1: Operation not permitted)" at
// alert and serves on with the limits it had.
func TestProcessLimitFails(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	before := procLimit(t, os.Getpid(), "Max open files")
	in := startFulcrum(t, processConf(fmt.Sprintf("worker_rlimit_nofile %d;", max+1)), 1)
	want := fmt.Sprintf("[alert] %d#0: setrlimit(RLIMIT_NOFILE, %d) failed (1: Operation not permitted)", in.cmd.Process.Pid, max+1)
	waitFor(t, want, func() bool { return in.logged(want) })
	if got := procLimit(t, in.cmd.Process.Pid, "Max open files"); got != before {
		t.Errorf("open files %q, want the test's own %q", got, before)
	}
}

// TestProcessChdirFails starts with a working directory that does not
// exist: nginx's worker logs chdir("DIR") failed (2: No such file or
// directory) at alert and exits with code 2, leaving none to serve;
// fulcrum logs the same and does not start.
func TestProcessChdirFails(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	conf := writeFiles(t, dir, map[string]string{"fulcrum.conf": processConf("working_directory " + missing + ";")})
	r := runFulcrum(t, "-p", dir, "-c", filepath.Join(conf, "fulcrum.conf"), "-e", "stderr")
	want := fmt.Sprintf("#0: chdir(%q) failed (2: No such file or directory)", missing)
	found := false
	for _, l := range strings.Split(r.stderr, "\n") {
		found = found || strings.Contains(l, "[alert] ") && strings.HasSuffix(l, want)
	}
	if r.code == 0 || !found {
		t.Errorf("exit %d, stderr:\n%s\nwant a failure and %q", r.code, r.stderr, want)
	}
}
