package integration

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// upgradable is a fulcrum started for binary upgrade tests (SIGUSR2). Its
// standard error is a file, not a pipe: the new binary it starts writes
// there too and outlives it, so the test waits for each process on its own.
type upgradable struct {
	t       *testing.T
	dir     string
	conf    string
	stderr  string // the file both generations log to
	pidFile string
	cmd     *exec.Cmd     // the first generation
	exited  chan struct{} // closed when cmd is waited for
}

// startUpgradable writes conf (%DIR% replaced) and runs fulcrum on it with
// the error log at info on standard error. At the test's end it stops every
// fulcrum whose pid the pid files name, and the first one.
func startUpgradable(t *testing.T, conf string) *upgradable {
	t.Helper()
	return startUpgradableBin(t, fulcrumBin, t.TempDir(), conf)
}

// startUpgradableBin is startUpgradable with the binary at bin, in dir.
func startUpgradableBin(t *testing.T, bin, dir, conf string) *upgradable {
	t.Helper()
	u := &upgradable{t: t, dir: dir, conf: filepath.Join(dir, "fulcrum.conf"), stderr: filepath.Join(dir, "stderr.log"),
		pidFile: filepath.Join(dir, "logs", "fulcrum.pid"), exited: make(chan struct{})}
	u.write(strings.ReplaceAll(conf, "%DIR%", dir))
	f, err := os.Create(u.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the processes keep their own descriptors
	u.cmd = exec.Command(bin, "-p", dir, "-c", u.conf, "-e", "stderr", "-g", "error_log stderr info;")
	u.cmd.Stderr = f
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		u.cmd.Wait()
		close(u.exited)
	}()
	t.Cleanup(u.stopAll)
	waitFor(t, "fulcrum to start", func() bool { return u.logged(fmt.Sprintf("started, pid %d", u.cmd.Process.Pid)) })
	return u
}

// stopAll stops the first generation and any process the pid files name,
// and waits until they are gone.
func (u *upgradable) stopAll() {
	pids := []int{u.cmd.Process.Pid}
	for _, path := range []string{u.pidFile, u.pidFile + ".oldbin"} {
		if pid := readPIDFile(path); pid > 0 {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	<-u.exited
	if u.t.Failed() {
		u.t.Logf("fulcrum log:\n%s", strings.Join(u.lines(), "\n"))
	}
}

// installBinary puts the fulcrum binary at path: a hard link when it can
// (copying megabytes takes a second under a loaded test run), else a copy.
// The test renames another file over path later, which leaves fulcrumBin
// as it was either way.
func installBinary(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Link(fulcrumBin, path) == nil {
		return
	}
	data, err := os.ReadFile(fulcrumBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// alive reports whether pid names a process that has not exited. A zombie
// (exited, not yet reaped) does not count: a new binary outlives its
// parent, and the orphan's new parent (init, or a container's first
// process) may reap it seconds later.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // gone since, or no /proc
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// readPIDFile returns the pid in path, or 0.
func readPIDFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

func (u *upgradable) write(conf string) {
	u.t.Helper()
	if err := os.WriteFile(u.conf, []byte(conf), 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// lines returns what both generations logged so far.
func (u *upgradable) lines() []string {
	b, _ := os.ReadFile(u.stderr)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// logged reports whether a line contains s.
func (u *upgradable) logged(s string) bool {
	for _, l := range u.lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// listening returns the addresses process pid logged "listening on", sorted.
func (u *upgradable) listening(pid int) []string {
	var out []string
	prefix := fmt.Sprintf(" %d#0: ", pid)
	for _, l := range u.lines() {
		if !strings.Contains(l, prefix) {
			continue
		}
		if m := listeningLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// httpListening returns the addresses of process pid's http listeners
// (its "listening on" lines without "(stream)").
func (u *upgradable) httpListening(pid int) []string {
	var out []string
	prefix := fmt.Sprintf(" %d#0: ", pid)
	for _, l := range u.lines() {
		if m := listeningLine.FindStringSubmatch(l); m != nil && strings.Contains(l, prefix) && !strings.Contains(l, "(stream)") {
			out = append(out, m[1])
		}
	}
	return out
}

// signal sends sig to pid.
func (u *upgradable) signal(pid int, sig syscall.Signal) {
	u.t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		u.t.Fatalf("kill(%d, %v): %v", pid, sig, err)
	}
}

// upgrade sends USR2 to pid and waits until the new binary wrote the pid
// file; it returns the new binary's pid.
func (u *upgradable) upgrade(pid int) int {
	u.t.Helper()
	u.signal(pid, syscall.SIGUSR2)
	var newPID int
	waitFor(u.t, "the new binary's pid file", func() bool {
		newPID = readPIDFile(u.pidFile)
		return newPID > 0 && newPID != pid && u.logged(fmt.Sprintf("started, pid %d", newPID))
	})
	return newPID
}

// startLine is the pid in "start new binary process PID".
var startLine = regexp.MustCompile(`start new binary process (\d+)`)

// TestBinaryUpgradeUnderLoad: under a steady stream of short connections
// and with a keep-alive connection in the middle of a request, USR2 starts
// the new binary on the same sockets, QUIT stops the old one, and no
// request fails and no connection is refused; then only the new one serves,
// with the pid files as nginx leaves them.
func TestBinaryUpgradeUnderLoad(t *testing.T) {
	release := make(chan struct{})
	slowStarted := make(chan struct{}, 1)
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slowStarted <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer back.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	u := startUpgradable(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        add_header X-Pid $pid;
        location / { proxy_pass http://%s; }
    }
}
`, strings.TrimPrefix(back.URL, "http://")))
	oldPID := u.cmd.Process.Pid
	addrs := u.listening(oldPID)
	if len(addrs) != 1 {
		t.Fatalf("old process listens on %v, want one address", addrs)
	}
	addr := addrs[0]

	// The keep-alive connection: one request answered, then one in flight
	// on the old process across the upgrade and its QUIT.
	kc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	kr := bufio.NewReader(kc)
	if resp := roundTrip(t, kc, kr, "/first"); resp.StatusCode != 200 || resp.Header.Get("X-Pid") != strconv.Itoa(oldPID) {
		t.Fatalf("first keep-alive request: %d from pid %s", resp.StatusCode, resp.Header.Get("X-Pid"))
	}
	slowDone := make(chan *http.Response, 1)
	go func() {
		fmt.Fprintf(kc, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(kr, nil)
		if err != nil {
			t.Errorf("slow keep-alive request: %v", err)
			slowDone <- nil
			return
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		slowDone <- resp
	}()
	<-slowStarted

	// The steady stream: new connections, one request each.
	var mu sync.Mutex // guards byPID
	byPID := map[string]int{}
	// exitSeq is the load's sequence number when the old binary was seen to
	// exit: no request sent after it may be answered by the old binary.
	var exitSeq atomic.Int64
	exitSeq.Store(math.MaxInt64)
	var oldAfterExit atomic.Int64
	noKeepAlive := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	l := startLoad(3, "http://"+addr+"/x", noKeepAlive, func(resp *http.Response, seq int64) {
		pid := resp.Header.Get("X-Pid")
		mu.Lock()
		byPID[pid]++
		mu.Unlock()
		if seq > exitSeq.Load() && pid == strconv.Itoa(oldPID) {
			oldAfterExit.Add(1)
		}
	})
	l.waitMore(t, "load to start", 100)

	newPID := u.upgrade(oldPID)
	if got := readPIDFile(u.pidFile + ".oldbin"); got != oldPID {
		t.Errorf("fulcrum.pid.oldbin holds %d, want the old pid %d", got, oldPID)
	}
	if got := u.listening(newPID); len(got) != 1 || got[0] != addr {
		t.Errorf("new binary listens on %v, want the inherited %s", got, addr)
	}
	for _, want := range []string{
		fmt.Sprintf("%d#0: signal 12 (SIGUSR2) received, changing binary", oldPID),
		fmt.Sprintf("%d#0: start new binary process %d", oldPID, newPID),
		fmt.Sprintf(`%d#0: using inherited sockets from "tcp4:127.0.0.1:0=3;"`, newPID),
	} {
		if !u.logged(want) {
			t.Errorf("no log line %q", want)
		}
	}
	l.waitMore(t, "traffic with both binaries", 200)

	u.signal(oldPID, syscall.SIGQUIT)
	waitFor(t, "the old binary to stop accepting", func() bool { return u.logged(fmt.Sprintf("%d#0: gracefully shutting down", oldPID)) })
	close(release) // the request in flight on the old binary finishes
	select {
	case resp := <-slowDone:
		if resp == nil || resp.StatusCode != 200 || resp.Header.Get("X-Pid") != strconv.Itoa(oldPID) {
			t.Errorf("the keep-alive request in flight across the upgrade: %+v", resp)
		} else if !resp.Close {
			t.Error("the old binary's last response did not say Connection: close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight on the old binary never finished")
	}
	select {
	case <-u.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the old binary did not exit after QUIT")
	}
	if code := u.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("old binary exited with %d", code)
	}
	exitSeq.Store(l.sent())
	l.waitMore(t, "traffic after the old binary left", 200)
	l.finish(t, "the binary upgrade")
	t.Logf("binary upgrade: answers by pid %v", byPID)
	if byPID[strconv.Itoa(newPID)] == 0 {
		t.Error("the new binary answered no request")
	}
	if n := oldAfterExit.Load(); n != 0 {
		t.Errorf("%d requests answered by the old binary after it exited", n)
	}
	if got := readPIDFile(u.pidFile); got != newPID {
		t.Errorf("fulcrum.pid holds %d, want the new pid %d", got, newPID)
	}
	if _, err := os.Stat(u.pidFile + ".oldbin"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fulcrum.pid.oldbin left after the old binary's exit: %v", err)
	}
	if !alive(newPID) {
		t.Fatal("the new binary is gone")
	}
	if code, body := get(t, newClient(), "http://"+addr+"/after"); code != 200 || body != "ok /after" {
		t.Errorf("after the upgrade: %d %q", code, body)
	}
}

// roundTrip sends a GET for path on c and reads the response.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

// TestBinaryUpgradeFailureKeepsOld: a new binary that cannot start (its
// configuration became invalid) exits with code 1; the old one logs it as
// nginx, renames fulcrum.pid.oldbin back and serves on.
func TestBinaryUpgradeFailureKeepsOld(t *testing.T) {
	conf := `
events {}
http {
    access_log off;
    server { listen 127.0.0.1:0; location / { return 200 "pid $pid\n"; } }
}
`
	u := startUpgradable(t, conf)
	oldPID := u.cmd.Process.Pid
	addr := u.listening(oldPID)[0]
	u.write(conf + "bogus_directive;\n")
	u.signal(oldPID, syscall.SIGUSR2)
	var newPID string
	waitFor(t, "the new binary to fail", func() bool {
		for _, l := range u.lines() {
			if m := startLine.FindStringSubmatch(l); m != nil {
				newPID = m[1]
			}
		}
		return newPID != "" && u.logged(fmt.Sprintf("%d#0: renamed %s.oldbin back to %s", oldPID, u.pidFile, u.pidFile))
	})
	for _, want := range []string{
		fmt.Sprintf("[notice] %d#0: new binary process %s exited with code 1", oldPID, newPID),
		`unknown directive "bogus_directive"`,
	} {
		if !u.logged(want) {
			t.Errorf("no log line %q", want)
		}
	}
	if got := readPIDFile(u.pidFile); got != oldPID {
		t.Errorf("fulcrum.pid holds %d, want the old pid %d", got, oldPID)
	}
	if _, err := os.Stat(u.pidFile + ".oldbin"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fulcrum.pid.oldbin left: %v", err)
	}
	if code, body := get(t, newClient(), "http://"+addr+"/"); code != 200 || body != fmt.Sprintf("pid %d\n", oldPID) {
		t.Errorf("after the failed upgrade: %d %q", code, body)
	}
}

// TestBinaryUpgradeRefusedAndRolledBack: while a new binary runs, USR2 is
// refused by both generations with nginx's [crit] line; the new one adopts
// the sockets its configuration names (the stream block's TCP and UDP ones
// too, keeping their ephemeral ports) and closes the others; stopping the
// new one rolls back: the old one logs its exit, renames the pid file back
// and serves every address again alone.
func TestBinaryUpgradeRefusedAndRolledBack(t *testing.T) {
	dropped := testutil.FreeAddr(t)
	conf := `
events {}
http {
    access_log off;
    server { listen 127.0.0.1:0; location / { return 200 "pid $pid\n"; } }
    server { listen %s; location / { return 200 "dropped $pid\n"; } }
}
stream {
    server { listen 127.0.0.1:0; listen 127.0.0.1:0 udp; proxy_pass 127.0.0.1:9; }
}
`
	u := startUpgradable(t, fmt.Sprintf(conf, dropped))
	oldPID := u.cmd.Process.Pid
	oldAddrs := u.listening(oldPID)
	if len(oldAddrs) != 4 {
		t.Fatalf("old binary listens on %v, want 4 addresses", oldAddrs)
	}
	var main string // the first server's address
	for _, a := range u.httpListening(oldPID) {
		if a != dropped {
			main = a
		}
	}
	// The new configuration no longer listens on dropped.
	u.write(strings.Replace(fmt.Sprintf(conf, dropped), "listen "+dropped+";", "listen 127.0.0.1:0; server_name dropped.example;", 1))
	newPID := u.upgrade(oldPID)

	// Both generations refuse another USR2.
	u.signal(oldPID, syscall.SIGUSR2)
	u.signal(newPID, syscall.SIGUSR2)
	refusal := "[crit] %d#0: the changing binary signal is ignored: you should shutdown or terminate before either old or new binary's process"
	waitFor(t, "both refusals", func() bool {
		return u.logged(fmt.Sprintf(refusal, oldPID)) && u.logged(fmt.Sprintf(refusal, newPID))
	})
	if n := strings.Count(strings.Join(u.lines(), "\n"), "start new binary process"); n != 1 {
		t.Errorf("%d new binaries started, want 1", n)
	}

	// The new binary took the same ephemeral ports (its "listening on" lines
	// are the old one's but dropped) and closed the socket it has no listen for.
	var want []string
	for _, a := range oldAddrs {
		if a != dropped {
			want = append(want, a)
		}
	}
	if got := u.listening(newPID); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("new binary listens on %v, want %v", got, want)
	}
	for _, line := range []string{
		fmt.Sprintf("%d#0: closing inherited socket tcp4 %s (not in the configuration)", newPID, dropped),
		"tcp:127.0.0.1:0#1=", "udp:127.0.0.1:0#2=",
	} {
		if !u.logged(line) {
			t.Errorf("no log line with %q", line)
		}
	}
	if code, body := get(t, newClient(), "http://"+dropped+"/"); code != 200 || body != fmt.Sprintf("dropped %d\n", oldPID) {
		t.Errorf("the address only the old binary listens on: %d %q", code, body)
	}

	// Roll back: QUIT the new binary.
	u.signal(newPID, syscall.SIGQUIT)
	waitFor(t, "the old binary to see the new one exit", func() bool {
		return u.logged(fmt.Sprintf("%d#0: renamed %s.oldbin back to %s", oldPID, u.pidFile, u.pidFile))
	})
	if !u.logged(fmt.Sprintf("[notice] %d#0: new binary process %d exited with code 0", oldPID, newPID)) {
		t.Error("the old binary did not log the new one's exit")
	}
	if got := readPIDFile(u.pidFile); got != oldPID {
		t.Errorf("fulcrum.pid holds %d, want the old pid %d", got, oldPID)
	}
	for range 20 { // every connection now reaches the old binary
		if code, body := get(t, newClient(), "http://"+main+"/"); code != 200 || body != fmt.Sprintf("pid %d\n", oldPID) {
			t.Fatalf("after the rollback: %d %q", code, body)
		}
	}
	// A new USR2 is accepted again.
	third := u.upgrade(oldPID)
	if third == newPID || !alive(third) {
		t.Errorf("the upgrade after the rollback started %d", third)
	}
}

// TestBinaryUpgradeRunsReplacedFileWithTLS: USR2 runs the file at the
// running binary's path as it is at the signal (the operator replaced it),
// and the new binary takes over a TLS listener with its connections'
// certificates as before.
func TestBinaryUpgradeRunsReplacedFileWithTLS(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sbin", "fulcrum")
	installBinary(t, bin)
	cert, key := writeSelfSigned(t)
	u := startUpgradableBin(t, bin, dir, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { return 200 "pid $pid\n"; }
    }
}
`, cert, key))
	oldPID := u.cmd.Process.Pid
	addr := u.listening(oldPID)[0]

	// Replace the binary as an installer does (a new file renamed over
	// the old): a script that leaves a mark and runs the real binary.
	marker := filepath.Join(dir, "replaced-ran")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %s\nexec %s \"$@\"\n", marker, fulcrumBin)
	writeFiles(t, dir, map[string]string{"sbin/fulcrum.new": script})
	if err := os.Chmod(bin+".new", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}

	newPID := u.upgrade(oldPID)
	args, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the replaced file did not run: %v", err)
	}
	if want := fmt.Sprintf("-p %s -c %s -e stderr -g error_log stderr info;\n", dir, u.conf); string(args) != want {
		t.Errorf("the new binary ran with %q, want the old one's arguments %q", args, want)
	}
	u.signal(oldPID, syscall.SIGQUIT)
	select {
	case <-u.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the old binary did not exit after QUIT")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("TLS request to the new binary: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != fmt.Sprintf("pid %d\n", newPID) {
		t.Errorf("TLS request after the upgrade: %d %q, want the new pid %d", resp.StatusCode, body, newPID)
	}
}
