package errlog

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

func syslogTarget(srv *testutil.SyslogServer, level Level, c config.Syslog) Target {
	c.Network, c.Addr = srv.Network, srv.Addr
	return Target{Path: "syslog:server=" + srv.Target(), Level: level, Syslog: c}
}

// TestSyslogLine checks an error_log syslog: datagram byte for byte against
// nginx 1.22.1's (recorded): the header at the severity of the line's level
// (not severity=), then the whole error log line (time, level, pid, *conn,
// message, request context) without its newline.
func TestSyslogLine(t *testing.T) {
	tests := []struct {
		name  string
		c     config.Syslog
		level Level
		want  string
	}{
		{"error, defaults", config.Syslog{Facility: 23, Severity: 6, Tag: "nginx"}, Error,
			`<187>Nov 25 01:24:22 vm nginx: 2026/11/25 01:24:22 [error] 1234#0: *1 open() "/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /x HTTP/1.1", host: "h"`},
		{"severity= is not used, nohostname", config.Syslog{Facility: 1, Severity: 0, Tag: "E", NoHostname: true}, Error,
			`<11>Nov 25 01:24:22 E: 2026/11/25 01:24:22 [error] 1234#0: *1 open() "/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /x HTTP/1.1", host: "h"`},
		{"info", config.Syslog{Facility: 23, Tag: "nginx"}, Info,
			`<190>Nov 25 01:24:22 vm nginx: 2026/11/25 01:24:22 [info] 1234#0: *1 open() "/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /x HTTP/1.1", host: "h"`},
		{"emerg, daemon", config.Syslog{Facility: 3, Tag: "t"}, Emerg,
			`<24>Nov 25 01:24:22 vm t: 2026/11/25 01:24:22 [emerg] 1234#0: *1 open() "/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /x HTTP/1.1", host: "h"`},
	}
	req := &Request{Conn: 1, Client: "127.0.0.1", Request: "GET /x HTTP/1.1", Host: "h"}
	for _, mk := range []func(testing.TB) *testutil.SyslogServer{testutil.NewSyslogUDP, testutil.NewSyslogUnix} {
		for _, tt := range tests {
			srv := mk(t)
			t.Run(srv.Network+"/"+tt.name, func(t *testing.T) {
				l, err := New(Options{Targets: []Target{syslogTarget(srv, Debug, tt.c)}, PID: 1234, Now: fixedNow, Hostname: "vm"})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				l.LogRequest(tt.level, req, `open() "/x" failed (2: No such file or directory)`)
				if got := srv.Recv(t); got != tt.want {
					t.Errorf("got  %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

// TestSyslogLevelAndLongLine: a target takes its level and above; a long
// line is cut to 2047 bytes after the header, as nginx cuts it (recorded:
// a 2070-byte datagram with a 23-byte header), for fulcrum's own lines too.
func TestSyslogLevelAndLongLine(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	l, err := New(Options{Targets: []Target{syslogTarget(srv, Warn, config.Syslog{Facility: 1, Tag: "E", NoHostname: true})}, PID: 1234, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(Info, "dropped")
	l.Log(Warn, strings.Repeat("b", 3000))
	got := srv.Recv(t)
	header := "<12>Nov 25 01:24:22 E: "
	if !strings.HasPrefix(got, header+"2026/11/25 01:24:22 [warn] 1234#0: bbb") || len(got) != len(header)+2047 || strings.HasSuffix(got, "\n") {
		t.Errorf("got %d bytes: %.80q...", len(got), got)
	}
}

// TestSyslogFailureReported: a target that cannot connect reports nginx's
// `connect() failed (...)` at alert through OnSyslogError, once per line,
// and LogQuiet lines that fail report nothing (no recursion).
func TestSyslogFailureReported(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "error.log")
	missing := Target{Path: "syslog:server=unix:/missing", Level: Info, Syslog: config.Syslog{Network: "unixgram", Addr: filepath.Join(dir, "missing.sock"), Tag: "nginx"}}
	var mu sync.Mutex
	var reports []string
	var l *Logger
	l, err := New(Options{Targets: []Target{{Path: file, Level: Info}, missing}, PID: 1, Now: fixedNow,
		OnSyslogError: func(level Level, msg string) {
			mu.Lock()
			reports = append(reports, level.String()+" "+msg)
			mu.Unlock()
			l.LogQuiet(level, msg)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(Error, "one")
	want := "2026/11/25 01:24:22 [error] 1#0: one\n2026/11/25 01:24:22 [alert] 1#0: connect() failed (2: No such file or directory)\n"
	if got := readFile(t, file); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	if len(reports) != 1 || reports[0] != "alert connect() failed (2: No such file or directory)" {
		t.Errorf("reports %q", reports)
	}
}

// TestSyslogFailureDefaultReport: without OnSyslogError the failure goes to
// the logger's own targets.
func TestSyslogFailureDefaultReport(t *testing.T) {
	dir := t.TempDir()
	l, stderr := newLogger(t, Target{Path: StderrPath, Level: Info},
		Target{Path: "syslog:server=unix:/x", Level: Info, Syslog: config.Syslog{Network: "unixgram", Addr: filepath.Join(dir, "none.sock"), Tag: "nginx"}})
	l.Log(Warn, "w")
	want := "2026/11/25 01:24:22 [warn] 1234#0: w\n2026/11/25 01:24:22 [alert] 1234#0: connect() failed (2: No such file or directory)\n"
	if got := stderr.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestMemoryTargetWritesNothing: error_log memory:1m (nginx's debugging
// ring buffer) is accepted and keeps nothing: no file, no level.
func TestMemoryTargetWritesNothing(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	l, _ := newLogger(t, Target{Path: "memory:1m", Level: Debug})
	if l.Enabled(Emerg) {
		t.Error("a memory: target enables lines")
	}
	l.Log(Emerg, "x")
	if err := l.Reopen(); err != nil {
		t.Error(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("files made: %v", names)
	}
}

// TestSyslogReopenAndConcurrency: Reopen (SIGUSR1) leaves a syslog target
// as it is, and lines logged from many goroutines each arrive whole (over
// UDP, read while they are sent: a unix socket's short queue would drop
// some, as it should).
func TestSyslogReopenAndConcurrency(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	l, err := New(Options{Targets: []Target{syslogTarget(srv, Info, config.Syslog{Facility: 23, Tag: "nginx", NoHostname: true})}, PID: 7, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				l.Logf(Warn, "g%d line %d", g, i)
			}
		}()
	}
	defer wg.Wait()
	seen := map[string]bool{}
	for range 160 {
		got := srv.Recv(t)
		if !strings.HasPrefix(got, "<188>Nov 25 01:24:22 nginx: 2026/11/25 01:24:22 [warn] 7#0: g") {
			t.Fatalf("datagram %q", got)
		}
		seen[got] = true
	}
	if len(seen) != 160 {
		t.Errorf("%d distinct lines", len(seen))
	}
}

// TestSyslogSameTargetTwice: two error_log lines naming one syslog target
// send each line twice, as nginx 1.22.1 does (recorded), each at its own
// level.
func TestSyslogSameTargetTwice(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	c := config.Syslog{Facility: 23, Tag: "a", NoHostname: true}
	l, err := New(Options{Targets: []Target{syslogTarget(srv, Error, c), syslogTarget(srv, Warn, c)}, PID: 1, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(Warn, "w")
	l.Log(Error, "e")
	want := []string{
		"<188>Nov 25 01:24:22 a: 2026/11/25 01:24:22 [warn] 1#0: w",
		"<187>Nov 25 01:24:22 a: 2026/11/25 01:24:22 [error] 1#0: e",
		"<187>Nov 25 01:24:22 a: 2026/11/25 01:24:22 [error] 1#0: e",
	}
	for _, w := range want {
		if got := srv.Recv(t); got != w {
			t.Errorf("got %q, want %q", got, w)
		}
	}
}
