package accesslog

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestIf checks if=CONDITION: a request is not logged when the condition is
// "" or "0", including a variable that is not found.
func TestIf(t *testing.T) {
	tests := []struct {
		args string
		want bool
	}{
		{"log=1", true},
		{"log=yes", true},
		{"log=00", true},
		{"log=0", false},
		{"log=", false},
		{"other=1", false},
	}
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}),
		logTo(path, format("a", "", "$args"), Params{If: "$arg_log", Buffer: 0, BufferSet: true}))
	var want strings.Builder
	for _, tt := range tests {
		st := curlState()
		st.Args = tt.args
		lg.Log(st)
		if tt.want {
			want.WriteString(tt.args + "\n")
		}
	}
	_ = files.Close()
	if got := readFile(t, path); got != want.String() {
		t.Errorf("file = %q, want %q", got, want.String())
	}
}

// TestIfPerTarget checks that a condition belongs to one access_log: another
// target with the same format still logs, and its line is not disturbed by the
// condition's evaluation.
func TestIfPerTarget(t *testing.T) {
	dir := t.TempDir()
	all, some := filepath.Join(dir, "all.log"), filepath.Join(dir, "some.log")
	files := NewFiles(FilesOptions{})
	f := format("a", "", "$status $args")
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}),
		logTo(some, f, Params{If: "$arg_log"}), logTo(all, f, Params{}), logTo(some, f, Params{If: "$arg_again"}))
	for _, args := range []string{"log=1", "log=0&again=1", "x=1"} {
		st := curlState()
		st.Args = args
		lg.Log(st)
	}
	_ = files.Close()
	if got, want := readFile(t, all), "200 log=1\n200 log=0&again=1\n200 x=1\n"; got != want {
		t.Errorf("all = %q, want %q", got, want)
	}
	if got, want := readFile(t, some), "200 log=1\n200 log=0&again=1\n"; got != want {
		t.Errorf("some = %q, want %q", got, want)
	}
}

// TestOff checks that access_log off logs nothing and opens nothing, and that
// nil and zero Loggers are safe.
func TestOff(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	defer files.Close()
	off := Target{Log: config.AccessLog{Off: true}}
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), off, at(path, "L", Params{}))
	if lg.Enabled() {
		t.Error("Enabled with access_log off")
	}
	lg.Log(curlState())
	if len(files.Paths()) != 0 {
		t.Errorf("off opened %q", files.Paths())
	}
	var nilLogger *Logger
	nilLogger.Log(curlState())
	(&Logger{}).Log(curlState())
	if nilLogger.Enabled() {
		t.Error("nil Logger enabled")
	}
}

// TestLoggerErrors checks the errors found while building a snapshot.
func TestLoggerErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	pos := config.Pos{File: "/etc/fulcrum/fulcrum.conf", Line: 7}
	tests := []struct {
		name    string
		targets []Target
		want    string
	}{
		{"open", []Target{at(filepath.Join(dir, "no", "such", "dir.log"), "L", Params{})},
			`open() "` + filepath.Join(dir, "no", "such", "dir.log") + `" failed (no such file or directory)`},
		{"conflict", []Target{at(path, "L", Params{}), at(path, "M", buffer(1024))},
			`access_log "` + path + `" already defined with conflicting parameters`},
		{"bad if", []Target{at(path, "L", Params{If: "$nosuch"})}, `unknown "nosuch" variable`},
		{"flush without buffer", []Target{at(path, "L", Params{BufferSet: true, Flush: time.Second})},
			"no buffer is defined for access_log"},
		{"bad format", []Target{logTo(path, format("x", "", "$nosuch"), Params{})}, `unknown "nosuch" variable`},
		{"no path", []Target{at("", "L", Params{})}, "access_log has no path"},
		{"variables in path with buffer", []Target{at(filepath.Join(dir, "$host.log"), "L", buffer(4096))},
			`buffered logs cannot have variables in name`},
		{"unknown variable in path", []Target{at(filepath.Join(dir, "$nosuch.log"), "L", Params{})}, `unknown "nosuch" variable`},
		{"negative buffer", []Target{at(path, "L", buffer(-1))}, "negative access_log buffer or flush"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := NewFiles(FilesOptions{})
			defer files.Close()
			for i := range tt.targets {
				tt.targets[i].Log.Pos = pos
			}
			logs := NewLogs(files, &vars.Compiler{})
			_, err := logs.Logger(tt.targets)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want prefix %q", err, tt.want)
			}
			if tt.name != "bad format" && !strings.HasSuffix(err.Error(), " in "+pos.String()) {
				t.Errorf("err = %v, want the access_log position", err)
			}
			if err := logs.Release(); err != nil {
				t.Fatal(err)
			}
			if len(files.Paths()) != 0 {
				t.Errorf("files open after releasing a failed build: %q", files.Paths())
			}
		})
	}
}

// TestSameParamsShareFile checks that equal buffering spelled differently is
// not a conflict.
func TestSameParamsShareFile(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	defer files.Close()
	logs := NewLogs(files, &vars.Compiler{})
	mustLogger(t, logs, at(path, "L", Params{}), at(path, "M", Params{Buffer: DefaultBuffer, BufferSet: true, Flush: DefaultFlush}))
}

// failingWriter fails every write.
type failingWriter struct{ writes atomic.Int32 }

func (w *failingWriter) Write([]byte) (int, error) {
	w.writes.Add(1)
	return 0, errors.New("disk full")
}

// TestWriteErrors checks that write failures reach OnError at most once a
// minute per file.
func TestWriteErrors(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	var w failingWriter
	var reported []string
	files := NewFiles(FilesOptions{Stdout: &w, Now: clk.Now, OnError: func(err error) {
		reported = append(reported, err.Error())
	}})
	defer files.Close()
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), at(StdoutPath, "L", buffer(0)))
	for _, d := range []time.Duration{0, time.Second, 59 * time.Second, 60 * time.Second, 61 * time.Second} {
		clk.Set(t0.Add(d))
		logStatus(lg, 200)
	}
	want := []string{`write() to "stdout" failed: disk full`, `write() to "stdout" failed: disk full`}
	if w.writes.Load() != 5 || strings.Join(reported, "|") != strings.Join(want, "|") {
		t.Errorf("writes %d, reported %q, want 5 and %q", w.writes.Load(), reported, want)
	}
}

// TestRunWakesForNewFile checks that Run, asleep for a flush=1h file, honours
// the shorter flush= of a file a new snapshot opens.
func TestRunWakesForNewFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		files := NewFiles(FilesOptions{})
		defer files.Close()
		mustLogger(t, NewLogs(files, &vars.Compiler{}), at(filepath.Join(dir, "slow.log"), "S", Params{Flush: time.Hour}))
		go files.Run(t.Context())
		synctest.Wait()
		fast := filepath.Join(dir, "fast.log")
		lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), at(fast, "F", Params{Flush: 100 * time.Millisecond}))
		logStatus(lg, 200)
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if got := readFile(t, fast); got != "F 200\n" {
			t.Errorf("after 150ms = %q, want the line", got)
		}
	})
}

// TestTargets checks the conversion of config's access_log list, parameters
// included.
func TestTargets(t *testing.T) {
	tests := []struct {
		log  config.AccessLog
		want Params
	}{
		{config.AccessLog{Path: "/a"}, Params{}},
		{config.AccessLog{Path: "/a", Buffer: 32 << 10}, Params{Buffer: 32 << 10, BufferSet: true}},
		{config.AccessLog{Path: "/a", Buffer: -1}, Params{BufferSet: true}},
		{config.AccessLog{Path: "/a", Buffer: 8 << 10, Flush: 5 * time.Second, If: "$loggable"},
			Params{Buffer: 8 << 10, BufferSet: true, Flush: 5 * time.Second, If: "$loggable"}},
		{config.AccessLog{Path: "/a", Flush: time.Minute}, Params{Flush: time.Minute}},
		{config.AccessLog{Off: true}, Params{}},
	}
	logs := make([]config.AccessLog, len(tests))
	for i, tt := range tests {
		logs[i] = tt.log
	}
	ts := Targets(logs)
	for i, tt := range tests {
		if ts[i].Log != tt.log || ts[i].Params != tt.want {
			t.Errorf("Targets[%d] = %+v, want params %+v", i, ts[i], tt.want)
		}
	}
}

// BenchmarkLogCombined measures one combined line to a buffered file: the
// steady state must not allocate.
func BenchmarkLogCombined(b *testing.B) {
	files := NewFiles(FilesOptions{})
	defer files.Close()
	lg, err := NewLogs(files, &vars.Compiler{}).Logger([]Target{
		{Log: config.AccessLog{Path: filepath.Join(b.TempDir(), "access.log")}},
	})
	if err != nil {
		b.Fatal(err)
	}
	st := curlState()
	st.Header = vars.HeaderMap{"User-Agent": {`Mozilla/5.0 "quoted"`}, "Referer": {"http://example.com/"}}
	b.ReportAllocs()
	for b.Loop() {
		lg.Log(st)
	}
}

// BenchmarkLogCombinedParallel measures contention on one shared file.
func BenchmarkLogCombinedParallel(b *testing.B) {
	files := NewFiles(FilesOptions{})
	defer files.Close()
	lg, err := NewLogs(files, &vars.Compiler{}).Logger([]Target{
		{Log: config.AccessLog{Path: filepath.Join(b.TempDir(), "access.log")}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		st := curlState()
		for pb.Next() {
			lg.Log(st)
		}
	})
}
