package accesslog

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/syslog"
	"fulcrum/internal/testutil"
)

// syslogTo makes a syslog: access_log to srv in format lf.
func syslogTo(srv *testutil.SyslogServer, lf *config.LogFormat, c config.Syslog) Target {
	c.Network, c.Addr = srv.Network, srv.Addr
	return Target{Log: config.AccessLog{Path: "syslog:server=" + srv.Target(), Format: lf, Syslog: c}}
}

// TestSyslogLine checks access_log syslog: datagrams byte for byte against
// nginx 1.22.1's (recorded): header at severity= (info by default), then
// the line without its newline; no buffering.
func TestSyslogLine(t *testing.T) {
	tests := []struct {
		name string
		c    config.Syslog
		want string
	}{
		{"defaults", config.Syslog{Facility: 23, Severity: 6, Tag: "nginx"},
			`<190>Nov 25 01:24:22 vm nginx: 127.0.0.1 - - [25/Nov/2026:01:24:22 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"`},
		{"daemon warn tag nohostname", config.Syslog{Facility: 3, Severity: 4, Tag: "abc_1", NoHostname: true},
			`<28>Nov 25 01:24:22 abc_1: 127.0.0.1 - - [25/Nov/2026:01:24:22 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"`},
		{"kern debug empty tag", config.Syslog{Facility: 0, Severity: 7, Tag: ""},
			`<7>Nov 25 01:24:22 vm : 127.0.0.1 - - [25/Nov/2026:01:24:22 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"`},
	}
	for _, mk := range []func(testing.TB) *testutil.SyslogServer{testutil.NewSyslogUDP, testutil.NewSyslogUnix} {
		for _, tt := range tests {
			srv := mk(t)
			t.Run(srv.Network+"/"+tt.name, func(t *testing.T) {
				files := NewFiles(FilesOptions{Now: func() time.Time { return testTime }, Hostname: "vm"})
				logs := NewLogs(files, fixedCompiler(testTime))
				defer logs.Release()
				lg := mustLogger(t, logs, syslogTo(srv, nil, tt.c))
				if n := lg.Log(curlState()); n != 0 {
					t.Errorf("%d failed sends", n)
				}
				if got := srv.Recv(t); got != tt.want {
					t.Errorf("got  %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

// TestSyslogAndFileShareLine: one format for a file and a syslog target:
// the file gets the line with its newline, the datagram without.
func TestSyslogAndFileShareLine(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	path := filepath.Join(t.TempDir(), "a.log")
	files := NewFiles(FilesOptions{Now: func() time.Time { return testTime }, Hostname: "vm"})
	logs := NewLogs(files, fixedCompiler(testTime))
	f := format("s", "", "$status $args")
	lg := mustLogger(t, logs, logTo(path, f, buffer(0)), syslogTo(srv, f, config.Syslog{Facility: 23, Severity: 6, Tag: "t", NoHostname: true}))
	st := curlState()
	st.Args = "a=1"
	lg.Log(st)
	if got := srv.Recv(t); got != "<190>Nov 25 01:24:22 t: 200 a=1" {
		t.Errorf("datagram %q", got)
	}
	_ = logs.Release()
	if got := readFile(t, path); got != "200 a=1\n" {
		t.Errorf("file %q", got)
	}
}

// TestSyslogFailure: a missing unix socket: Log counts the failed target
// (nginx's `send() to syslog failed` warn) and OnSyslogError gets
// `connect() failed (2: No such file or directory)`; every line retries.
func TestSyslogFailure(t *testing.T) {
	var mu sync.Mutex
	var got []string
	files := NewFiles(FilesOptions{OnSyslogError: func(err *syslog.OpError) {
		mu.Lock()
		got = append(got, err.Error())
		mu.Unlock()
	}})
	logs := NewLogs(files, fixedCompiler(testTime))
	defer logs.Release()
	c := config.Syslog{Network: "unixgram", Addr: filepath.Join(t.TempDir(), "none.sock"), Tag: "nginx"}
	lg := mustLogger(t, logs, Target{Log: config.AccessLog{Path: "syslog:server=unix:none.sock", Syslog: c}})
	for range 2 {
		if n := lg.Log(curlState()); n != 1 {
			t.Errorf("%d failed sends, want 1", n)
		}
	}
	want := "connect() failed (2: No such file or directory)"
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("reports %q", got)
	}
}

// TestSyslogReleaseCloses: Release closes the snapshot's sockets: a
// Logger of a released snapshot sends nothing more.
func TestSyslogReleaseCloses(t *testing.T) {
	srv := testutil.NewSyslogUDP(t)
	files := NewFiles(FilesOptions{})
	logs := NewLogs(files, fixedCompiler(testTime))
	lg := mustLogger(t, logs, syslogTo(srv, format("s", "", "$status"), config.Syslog{Tag: "t"}))
	lg.Log(curlState())
	srv.Recv(t)
	if err := logs.Release(); err != nil {
		t.Fatal(err)
	}
	lg.Log(curlState())
	// a marker sent after it arrives first: the line was not sent
	// (loopback datagrams keep their order)
	c, err := net.Dial("udp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("marker")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Recv(t); got != "marker" {
		t.Errorf("after Release: %q", got)
	}
	if _, err := logs.Logger([]Target{syslogTo(srv, nil, config.Syslog{Tag: "t"})}); err == nil {
		t.Errorf("a released snapshot built a syslog logger")
	}
}

// TestSyslogLogAllocs: logging to a syslog target does not allocate in
// steady state (pooled buffers, a send that allocates nothing).
func TestSyslogLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	srv := testutil.NewSyslogUDP(t)
	files := NewFiles(FilesOptions{Now: func() time.Time { return testTime }})
	logs := NewLogs(files, fixedCompiler(testTime))
	defer logs.Release()
	lg := mustLogger(t, logs, syslogTo(srv, format("s", "", "$remote_addr $status $request"), config.Syslog{Facility: 23, Severity: 6, Tag: "nginx"}))
	st := curlState()
	lg.Log(st)
	if n := testing.AllocsPerRun(200, func() { lg.Log(st) }); n != 0 {
		t.Errorf("%v allocations per line", n)
	}
}
