package accesslog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"fulcrum/internal/testutil"
	"fulcrum/internal/vars"
)

// statusFormat logs "TAG $status"; tests tell lines apart by status.
func statusFormat(tag string) Target {
	return Target{Log: logTo("", format(tag, "", tag+" $status"), Params{}).Log}
}

// at returns a Target for path in a "TAG $status" format with parameters p.
func at(path, tag string, p Params) Target {
	t := statusFormat(tag)
	t.Log.Path, t.Params = path, p
	return t
}

// logStatus logs one request with the given status.
func logStatus(lg *Logger, status int) {
	st := curlState()
	st.Status = status
	lg.Log(st)
}

// TestSharedFile checks that two locations logging to one path share one
// file and that their lines arrive whole and in order.
func TestSharedFile(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	logs := NewLogs(files, &vars.Compiler{})
	a := mustLogger(t, logs, at(path, "A", Params{}))
	b := mustLogger(t, logs, at(path, "B", Params{}))
	logStatus(a, 200)
	logStatus(b, 404)
	logStatus(a, 201)
	if got := files.Paths(); !slices.Equal(got, []string{path}) {
		t.Errorf("Paths = %q, want one file", got)
	}
	if err := files.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, path), "A 200\nB 404\nA 201\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

// TestSeveralTargets checks that one location writes each line to every
// access_log it has, formatting a shared format once and each other format
// separately.
func TestSeveralTargets(t *testing.T) {
	dir := t.TempDir()
	p1, p2, p3 := filepath.Join(dir, "1.log"), filepath.Join(dir, "2.log"), filepath.Join(dir, "3.log")
	files := NewFiles(FilesOptions{})
	logs := NewLogs(files, &vars.Compiler{})
	shared := format("s", "", "S $status")
	lg := mustLogger(t, logs,
		logTo(p1, shared, Params{}), logTo(p2, shared, buffer(0)), at(p3, "T", Params{}))
	logStatus(lg, 200)
	if got := readFile(t, p2); got != "S 200\n" {
		t.Errorf("unbuffered target before Close = %q", got)
	}
	if err := files.Close(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{p1: "S 200\n", p2: "S 200\n", p3: "T 200\n"} {
		if got := readFile(t, path); got != want {
			t.Errorf("%s = %q, want %q", filepath.Base(path), got, want)
		}
	}
}

// TestReload checks the life of files across a reload: a kept path is neither
// reopened nor loses buffered lines, a new path opens when the new snapshot is
// built, and a dropped path is flushed and closed when the old snapshot is
// released.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	kept, dropped, added := filepath.Join(dir, "kept.log"), filepath.Join(dir, "dropped.log"), filepath.Join(dir, "added.log")
	files := NewFiles(FilesOptions{})
	defer files.Close()

	old := NewLogs(files, &vars.Compiler{})
	oldLg := mustLogger(t, old, at(kept, "old", Params{}), at(dropped, "old", Params{}))
	logStatus(oldLg, 200)
	// Renaming the kept file shows whether the reload reopens it: a reopened
	// path would send the next lines to a new file under the old name.
	if err := os.Rename(kept, kept+".moved"); err != nil {
		t.Fatal(err)
	}

	cur := NewLogs(files, &vars.Compiler{})
	curLg := mustLogger(t, cur, at(kept, "new", Params{}), at(added, "new", Params{}))
	if _, err := os.Stat(added); err != nil {
		t.Errorf("new path not opened by the build: %v", err)
	}
	logStatus(oldLg, 201) // a request still draining on the old snapshot
	if err := old.Release(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dropped); got != "old 200\nold 201\n" {
		t.Errorf("dropped path after release = %q, want its buffered lines", got)
	}
	if got := files.Paths(); !slices.Equal(got, []string{added, kept}) {
		t.Errorf("Paths after release = %q, want added and kept only", got)
	}
	logStatus(curLg, 202)
	files.Flush()
	if got, want := readFile(t, kept+".moved"), "old 200\nold 201\nnew 202\n"; got != want {
		t.Errorf("kept file = %q, want %q (same file, no line lost)", got, want)
	}
	if got := readFile(t, kept); got != "" {
		t.Errorf("kept path was reopened: new file has %q", got)
	}
	if err := old.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, err := old.Logger([]Target{at(kept, "x", Params{})}); err == nil {
		t.Error("Logger of a released Logs succeeded")
	}
}

// TestReloadChangesBuffer checks that a reload that changes buffer= for a kept
// path writes the old buffer out first and uses the new size after.
func TestReloadChangesBuffer(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	defer files.Close()
	old := NewLogs(files, &vars.Compiler{})
	logStatus(mustLogger(t, old, at(path, "old", Params{})), 200)
	cur := NewLogs(files, &vars.Compiler{})
	curLg := mustLogger(t, cur, at(path, "new", buffer(0)))
	if got := readFile(t, path); got != "old 200\n" {
		t.Errorf("after the new build = %q, want the old buffer written", got)
	}
	logStatus(curLg, 201)
	if got := readFile(t, path); got != "old 200\nnew 201\n" {
		t.Errorf("after an unbuffered line = %q", got)
	}
	_ = old.Release()
}

// TestReopen checks SIGUSR1 after logrotate: buffered lines go to the renamed
// file, later lines to a new file with the configured name.
func TestReopen(t *testing.T) {
	tests := []struct {
		name   string
		params Params
	}{
		{"buffered", Params{}},
		{"unbuffered", buffer(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "access.log")
			files := NewFiles(FilesOptions{})
			lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), at(path, "L", tt.params))
			logStatus(lg, 200)
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			if err := files.Reopen(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("Reopen did not create a new file: %v", err)
			}
			logStatus(lg, 201)
			if err := files.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path+".1"); got != "L 200\n" {
				t.Errorf("rotated file = %q, want the line before Reopen", got)
			}
			if got := readFile(t, path); got != "L 201\n" {
				t.Errorf("new file = %q, want the line after Reopen", got)
			}
		})
	}
}

// TestReopenFailureKeepsFile checks that a path that cannot be reopened keeps
// logging to its old file and that Reopen reports it.
func TestReopenFailureKeepsFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	files := NewFiles(FilesOptions{})
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), at(path, "L", buffer(0)))
	moved := dir + ".old"
	if err := os.Rename(dir, moved); err != nil { // the directory is gone
		t.Fatal(err)
	}
	err := files.Reopen()
	if err == nil || !strings.Contains(err.Error(), `open() "`+path+`" failed`) {
		t.Fatalf("Reopen error = %v", err)
	}
	logStatus(lg, 200)
	_ = files.Close()
	if got := readFile(t, filepath.Join(moved, "access.log")); got != "L 200\n" {
		t.Errorf("old file = %q, want the line", got)
	}
}

// TestCloseFlushes checks that buffered lines reach the file only on Close
// (no timed flush ran) and that lines after Close are dropped.
func TestCloseFlushes(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	logs := NewLogs(files, &vars.Compiler{})
	lg := mustLogger(t, logs, at(path, "L", Params{}))
	logStatus(lg, 200)
	logStatus(lg, 201)
	if got := readFile(t, path); got != "" {
		t.Fatalf("before Close = %q, want the lines still buffered", got)
	}
	if err := files.Close(); err != nil {
		t.Fatal(err)
	}
	logStatus(lg, 202)
	if err := files.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := readFile(t, path); got != "L 200\nL 201\n" {
		t.Errorf("after Close = %q", got)
	}
	if err := logs.Release(); err != nil {
		t.Errorf("Release after Close: %v", err)
	}
	if _, err := NewLogs(files, &vars.Compiler{}).Logger([]Target{at(path, "L", Params{})}); err == nil {
		t.Error("Logger after Close succeeded")
	}
}

// TestBufferParams follows buffer=SIZE through a sequence of lines: a line
// that does not fit writes the buffer out first, a line larger than the
// buffer is written directly after it.
func TestBufferParams(t *testing.T) {
	path := tempPath(t, "access.log")
	files := NewFiles(FilesOptions{})
	defer files.Close()
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}),
		logTo(path, format("pad", "", "$arg_pad\n$status"), buffer(16)))
	steps := []struct {
		pad  string
		want string // the file after the line
	}{
		{"", ""},                   // "\n200\n": 5 of 16
		{"abcd", ""},               // 9 more: 14
		{"", "\n200\nabcd\n200\n"}, // does not fit: the 14 are written
		{strings.Repeat("x", 20), "\n200\nabcd\n200\n\n200\n" + strings.Repeat("x", 20) + "\n200\n"},
		{"", "\n200\nabcd\n200\n\n200\n" + strings.Repeat("x", 20) + "\n200\n"},
	}
	for i, s := range steps {
		st := curlState()
		st.Args = "pad=" + s.pad
		lg.Log(st)
		if got := readFile(t, path); got != s.want {
			t.Fatalf("after line %d: file = %q, want %q", i, got, s.want)
		}
	}
}

// TestFlushParams checks when FlushDue writes a buffer out: once its oldest
// line has waited flush= (DefaultFlush without it), and what it returns.
func TestFlushParams(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		params   Params
		before   time.Duration // a FlushDue this long after the line must not flush
		wantNext time.Duration // and returns this
		at       time.Duration // one this long after must flush
	}{
		{"default", Params{}, 999 * time.Millisecond, time.Millisecond, time.Second},
		{"flush=5s", Params{Flush: 5 * time.Second}, 4 * time.Second, time.Second, 5 * time.Second},
		{"buffer=1k flush=200ms", Params{Buffer: 1024, BufferSet: true, Flush: 200 * time.Millisecond},
			150 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			path := tempPath(t, "access.log")
			files := NewFiles(FilesOptions{Now: clk.Now})
			defer files.Close()
			lg := mustLogger(t, NewLogs(files, &vars.Compiler{}), at(path, "L", tt.params))
			if got := files.FlushDue(); got != tt.params.flushEvery() {
				t.Errorf("FlushDue with nothing buffered = %v, want %v", got, tt.params.flushEvery())
			}
			logStatus(lg, 200)
			clk.Set(t0.Add(tt.before))
			if next := files.FlushDue(); next != tt.wantNext {
				t.Errorf("FlushDue before due returned %v, want %v", next, tt.wantNext)
			}
			if got := readFile(t, path); got != "" {
				t.Fatalf("flushed early: %q", got)
			}
			clk.Set(t0.Add(tt.at))
			if next := files.FlushDue(); next != tt.params.flushEvery() {
				t.Errorf("FlushDue when due returned %v, want %v", next, tt.params.flushEvery())
			}
			if got := readFile(t, path); got != "L 200\n" {
				t.Errorf("after flush = %q", got)
			}
		})
	}
}

// TestRunFlushes checks the flusher loop in a synctest bubble: a line appears
// within a second, and Run flushes once more when its context ends.
func TestRunFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := tempPath(t, "access.log")
		files := NewFiles(FilesOptions{})
		defer files.Close()
		lg := mustLogger(t, NewLogs(files, &vars.Compiler{}),
			at(path, "L", Params{}), at(path+".slow", "S", Params{Flush: time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { files.Run(ctx); close(done) }()

		logStatus(lg, 200)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if got := readFile(t, path); got != "" {
			t.Fatalf("flushed after 0.5s: %q", got)
		}
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if got := readFile(t, path); got != "L 200\n" {
			t.Fatalf("after 1.1s = %q, want the line", got)
		}
		if got := readFile(t, path+".slow"); got != "" {
			t.Fatalf("flush=1h file flushed early: %q", got)
		}
		cancel()
		<-done
		if got := readFile(t, path+".slow"); got != "S 200\n" {
			t.Errorf("after Run ended = %q, want the final flush", got)
		}
	})
}

// TestStdout checks the stdout and stderr paths: buffered like files, written
// on Close, never closed.
func TestStdout(t *testing.T) {
	var out, errOut testutil.SyncBuffer
	files := NewFiles(FilesOptions{Stdout: &out, Stderr: &errOut})
	lg := mustLogger(t, NewLogs(files, &vars.Compiler{}),
		at(StdoutPath, "O", Params{}), at(StderrPath, "E", buffer(0)))
	logStatus(lg, 200)
	if out.String() != "" || errOut.String() != "E 200\n" {
		t.Errorf("before Close: stdout %q, stderr %q", out.String(), errOut.String())
	}
	if err := files.Reopen(); err != nil {
		t.Fatal(err)
	}
	logStatus(lg, 201)
	if err := files.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "O 200\nO 201\n" || errOut.String() != "E 200\nE 201\n" {
		t.Errorf("after Close: stdout %q, stderr %q", out.String(), errOut.String())
	}
}

// TestConcurrentWriters logs from many goroutines while the logs are rotated
// and reopened, and checks that every line arrives exactly once and whole.
func TestConcurrentWriters(t *testing.T) {
	tests := []struct {
		name   string
		params Params
	}{
		{"unbuffered", buffer(0)},
		{"buffer=256", buffer(256)},
		{"default", Params{}},
	}
	const writers, lines = 8, 400
	lineRE := regexp.MustCompile(`^g(\d+) i(\d+) (x*)$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access.log")
			files := NewFiles(FilesOptions{})
			logs := NewLogs(files, &vars.Compiler{})
			lg := mustLogger(t, logs, logTo(path, format("c", "", "g$arg_g i$arg_i $arg_pad"), tt.params))

			var wg sync.WaitGroup
			for g := range writers {
				wg.Go(func() {
					st := &vars.State{}
					for i := range lines {
						st.Reset()
						st.Args = fmt.Sprintf("g=%d&i=%d&pad=%s", g, i, strings.Repeat("x", (g*31+i*7)%300))
						lg.Log(st)
					}
				})
			}
			rotated := 0
			for range 5 {
				rotated++
				if err := os.Rename(path, fmt.Sprintf("%s.%d", path, rotated)); err != nil {
					t.Fatal(err)
				}
				if err := files.Reopen(); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if err := files.Close(); err != nil {
				t.Fatal(err)
			}

			seen := make(map[[2]int]bool)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				content := readFile(t, filepath.Join(dir, e.Name()))
				if content != "" && !strings.HasSuffix(content, "\n") {
					t.Fatalf("%s does not end with a newline", e.Name())
				}
				for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
					if l == "" {
						continue
					}
					m := lineRE.FindStringSubmatch(l)
					if m == nil {
						t.Fatalf("%s: broken line %q", e.Name(), l)
					}
					g, _ := strconv.Atoi(m[1])
					i, _ := strconv.Atoi(m[2])
					if len(m[3]) != (g*31+i*7)%300 {
						t.Fatalf("%s: line %q has the wrong padding", e.Name(), l)
					}
					if seen[[2]int{g, i}] {
						t.Fatalf("line g%d i%d written twice", g, i)
					}
					seen[[2]int{g, i}] = true
				}
			}
			if len(seen) != writers*lines {
				t.Errorf("got %d distinct lines, want %d", len(seen), writers*lines)
			}
		})
	}
}
