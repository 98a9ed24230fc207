package errlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// fixedNow is the injected clock: 2026/11/25 01:24:22 in UTC.
func fixedNow() time.Time { return time.Date(2026, 11, 25, 1, 24, 22, 0, time.UTC) }

func newLogger(t *testing.T, targets ...Target) (*Logger, *testutil.SyncBuffer) {
	t.Helper()
	stderr := &testutil.SyncBuffer{}
	l, err := New(Options{Targets: targets, PID: 1234, Now: fixedNow, Stderr: stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, stderr
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLineFormat(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *Logger)
		want string
	}{
		{"plain", func(l *Logger) { l.Log(Warn, "message") },
			"2026/11/25 01:24:22 [warn] 1234#0: message\n"},
		{"trailing newline dropped", func(l *Logger) { l.Log(Emerg, "x\n") },
			"2026/11/25 01:24:22 [emerg] 1234#0: x\n"},
		{"formatted", func(l *Logger) { l.Logf(Error, "kill(%d, %d) failed", 7, 1) },
			"2026/11/25 01:24:22 [error] 1234#0: kill(7, 1) failed\n"},
		{"request, all fields", func(l *Logger) {
			l.LogRequest(Error, &Request{Client: "127.0.0.1", Server: "example.com",
				Request: "GET / HTTP/1.1", Upstream: "http://127.0.0.1:5001/", Host: "example.com"},
				"connect() failed (111: Connection refused) while connecting to upstream")
		}, `2026/11/25 01:24:22 [error] 1234#0: connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: example.com, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:5001/", host: "example.com"` + "\n"},
		{"request, known fields only", func(l *Logger) {
			l.LogRequest(Info, &Request{Client: "10.0.0.1", Request: "GET /x HTTP/1.0"}, "client closed connection")
		}, `2026/11/25 01:24:22 [info] 1234#0: client closed connection, client: 10.0.0.1, server: , request: "GET /x HTTP/1.0"` + "\n"},
		// nginx's own line for a missing file, byte for byte but the pid#tid:
		// the connection number after the pid, an empty server kept.
		{"request with its connection", func(l *Logger) {
			l.LogRequest(Error, &Request{Conn: 7, Client: "127.0.0.1", Request: "GET /m HTTP/1.1", Host: "h"},
				`open() "/srv/m" failed (2: No such file or directory)`)
		}, `2026/11/25 01:24:22 [error] 1234#0: *7 open() "/srv/m" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /m HTTP/1.1", host: "h"` + "\n"},
		// nginx 1.22.1's lines with a Referer (recorded): last, after host;
		// an empty field written as "".
		{"request with a referrer", func(l *Logger) {
			l.LogRequest(Error, &Request{Conn: 1, Client: "127.0.0.1", Request: "GET /m HTTP/1.1", Host: "h", Referrer: `http://a/?q="x"`, ReferrerSent: true},
				`open() "/srv/m" failed (2: No such file or directory)`)
		}, `2026/11/25 01:24:22 [error] 1234#0: *1 open() "/srv/m" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /m HTTP/1.1", host: "h", referrer: "http://a/?q="x""` + "\n"},
		{"request with an empty referrer", func(l *Logger) {
			l.LogRequest(Error, &Request{Conn: 1, Client: "127.0.0.1", Request: "GET /m HTTP/1.1", Host: "h", ReferrerSent: true}, "x")
		}, `2026/11/25 01:24:22 [error] 1234#0: *1 x, client: 127.0.0.1, server: , request: "GET /m HTTP/1.1", host: "h", referrer: ""` + "\n"},
		// nginx 1.22.1's line for an SSI include nested too deep.
		{"request with a subrequest", func(l *Logger) {
			l.LogRequest(Error, &Request{Conn: 9, Client: "127.0.0.1", Request: "GET /n/loop.html HTTP/1.1", Subrequest: "/n/loop.html", Host: "127.0.0.1:44621"},
				`subrequests cycle while processing "/n/loop.html" while sending response to client`)
		}, `2026/11/25 01:24:22 [error] 1234#0: *9 subrequests cycle while processing "/n/loop.html" while sending response to client, client: 127.0.0.1, server: , request: "GET /n/loop.html HTTP/1.1", subrequest: "/n/loop.html", host: "127.0.0.1:44621"` + "\n"},
		// nginx cuts a line at 2047 bytes and its newline (NGX_MAX_ERROR_STR),
		// as its "client sent too long URI" for an 8k request line.
		{"request line cut at 2048 bytes", func(l *Logger) {
			l.LogRequest(Info, &Request{Conn: 1, Client: "127.0.0.1", Request: "GET /" + strings.Repeat("a", 8000)},
				"client sent too long URI while reading client request line")
		}, func() string {
			s := `2026/11/25 01:24:22 [info] 1234#0: *1 client sent too long URI while reading client request line, client: 127.0.0.1, server: , request: "GET /` + strings.Repeat("a", 8000)
			return s[:2047] + "\n"
		}()},
		// nginx 1.22.1's line for a 1990-byte URI (recorded): the text
		// before the system error is cut 50 bytes before the line's end and
		// marked "...", the error and as much of the request as fits follow.
		{"long message keeps its system error", func(l *Logger) {
			a := strings.Repeat("a", 1990)
			l.LogRequest(Error, &Request{Conn: 2, Client: "127.0.0.1", Request: "GET /" + a + " HTTP/1.1", Host: "h"},
				`open() "/srv/`+a+`" failed (36: File name too long)`)
		}, func() string {
			s := `2026/11/25 01:24:22 [error] 1234#0: *2 open() "/srv/` + strings.Repeat("a", 1990)
			return s[:1998] + `... (36: File name too long), client: 127.0.0.1, ` + "\n"
		}()},
		{"long message with an action", func(l *Logger) {
			a := strings.Repeat("a", 1990)
			l.LogRequest(Error, &Request{Conn: 2, Client: "127.0.0.1"}, `open() "/srv/`+a+`" failed (13: Permission denied) while logging request`)
		}, func() string {
			s := `2026/11/25 01:24:22 [error] 1234#0: *2 open() "/srv/` + strings.Repeat("a", 1990)
			return s[:1998] + `... (13: Permission denied) while logging request` + "\n"
		}()},
		{"own line kept whole", func(l *Logger) { l.Log(Alert, strings.Repeat("s", 3000)) },
			"2026/11/25 01:24:22 [alert] 1234#0: " + strings.Repeat("s", 3000) + "\n"},
		{"std logger", func(l *Logger) { l.StdLogger(Alert).Printf("http: %s", "TLS handshake error") },
			"2026/11/25 01:24:22 [alert] 1234#0: http: TLS handshake error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, stderr := newLogger(t, Target{Path: StderrPath, Level: Debug})
			tt.log(l)
			if got := stderr.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDefaultsUseProcessIDAndLocalTime(t *testing.T) {
	stderr := &testutil.SyncBuffer{}
	l, err := New(Options{Targets: []Target{{Path: StderrPath, Level: Info}}, Stderr: stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := time.Now().Truncate(time.Second)
	l.Log(Notice, "hello")
	after := time.Now()
	line := stderr.String()
	stamp, rest, ok := strings.Cut(line, " [")
	if !ok {
		t.Fatalf("no level in %q", line)
	}
	at, err := time.ParseInLocation("2006/01/02 15:04:05", stamp, time.Local)
	if err != nil || at.Before(before) || at.After(after) {
		t.Errorf("stamp %q (%v, %v) not local time between %v and %v", stamp, at, err, before, after)
	}
	if want := fmt.Sprintf("notice] %d#0: hello\n", os.Getpid()); rest != want {
		t.Errorf("got %q, want %q", rest, want)
	}
}

func TestTargetLevels(t *testing.T) {
	dir := t.TempDir()
	warnPath, errPath := filepath.Join(dir, "warn.log"), filepath.Join(dir, "error.log")
	l, stderr := newLogger(t,
		Target{Path: warnPath, Level: Warn},
		Target{Path: errPath, Level: Error},
		Target{Path: StderrPath, Level: Crit})
	for lv := Debug; lv <= Emerg; lv++ {
		l.Log(lv, lv.String())
	}
	tests := []struct {
		name, got string
		want      []string
	}{
		{"warn file", readFile(t, warnPath), []string{"warn", "error", "crit", "alert", "emerg"}},
		{"error file", readFile(t, errPath), []string{"error", "crit", "alert", "emerg"}},
		{"stderr", stderr.String(), []string{"crit", "alert", "emerg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want strings.Builder
			for _, lv := range tt.want {
				fmt.Fprintf(&want, "2026/11/25 01:24:22 [%s] 1234#0: %s\n", lv, lv)
			}
			if tt.got != want.String() {
				t.Errorf("got\n%s\nwant\n%s", tt.got, want.String())
			}
		})
	}
	if l.Enabled(Notice) || !l.Enabled(Warn) {
		t.Errorf("Enabled(notice)=%v Enabled(warn)=%v, want false true", l.Enabled(Notice), l.Enabled(Warn))
	}
}

func TestSamePathSharesOneFileAtLowestLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	l, _ := newLogger(t, Target{Path: path, Level: Error}, Target{Path: path, Level: Info})
	l.Log(Info, "once")
	if got, want := readFile(t, path), "2026/11/25 01:24:22 [info] 1234#0: once\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _ := newLogger(t, Target{Path: path, Level: Info})
	l.Log(Warn, "new")
	if got, want := readFile(t, path), "old\n2026/11/25 01:24:22 [warn] 1234#0: new\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewOpenError(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.log")
	missing := filepath.Join(dir, "no", "such", "error.log")
	_, err := New(Options{Targets: []Target{{Path: first}, {Path: missing}}})
	if err == nil {
		t.Fatal("New succeeded with a missing directory")
	}
	want := fmt.Sprintf(`open() "%s" failed (2: No such file or directory)`, missing)
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path, rotated := filepath.Join(dir, "error.log"), filepath.Join(dir, "error.log.1")
	l, _ := newLogger(t, Target{Path: path, Level: Info})
	l.Log(Warn, "before")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	l.Log(Warn, "after rename")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Log(Warn, "after reopen")
	line := "2026/11/25 01:24:22 [warn] 1234#0: "
	if got, want := readFile(t, rotated), line+"before\n"+line+"after rename\n"; got != want {
		t.Errorf("rotated file %q, want %q", got, want)
	}
	if got, want := readFile(t, path), line+"after reopen\n"; got != want {
		t.Errorf("new file %q, want %q", got, want)
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub, moved := filepath.Join(dir, "logs"), filepath.Join(dir, "logs.old")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "error.log")
	l, _ := newLogger(t, Target{Path: path, Level: Info})
	if err := os.Rename(sub, moved); err != nil {
		t.Fatal(err)
	}
	err := l.Reopen()
	if err == nil || !strings.Contains(err.Error(), `open() "`+path+`" failed (2: No such file or directory)`) {
		t.Fatalf("Reopen error %v, want the open failure of %s", err, path)
	}
	l.Log(Error, "still logged")
	if got := readFile(t, filepath.Join(moved, "error.log")); !strings.HasSuffix(got, "#0: still logged\n") {
		t.Errorf("old file %q lacks the line logged after a failed reopen", got)
	}
}

func TestClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	l, err := New(Options{Targets: []Target{{Path: path, Level: Info}}, Now: fixedNow, PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Warn, "open")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	l.Log(Emerg, "closed")
	if l.Enabled(Emerg) {
		t.Error("Enabled after Close")
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen after Close succeeded")
	}
	if got, want := readFile(t, path), "2026/11/25 01:24:22 [warn] 1#0: open\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestConcurrentLogAndReopen logs from many goroutines while the file is rotated
// and reopened; every line must land whole in one of the files.
func TestConcurrentLogAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	l, _ := newLogger(t, Target{Path: path, Level: Info})
	const writers, lines, rotations = 8, 200, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				l.Logf(Error, "writer %d line %d", w, i)
			}
		})
	}
	for r := range rotations {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
			t.Fatal(err)
		}
		if err := l.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	files, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		for _, line := range strings.Split(strings.TrimSuffix(readFile(t, f), "\n"), "\n") {
			if line == "" {
				continue
			}
			msg, ok := strings.CutPrefix(line, "2026/11/25 01:24:22 [error] 1234#0: ")
			if !ok || seen[msg] {
				t.Fatalf("bad or repeated line %q in %s", line, f)
			}
			seen[msg] = true
		}
	}
	if len(seen) != writers*lines {
		t.Errorf("found %d lines, want %d", len(seen), writers*lines)
	}
}

func TestLevels(t *testing.T) {
	cfgLevels := []config.LogLevel{config.LevelDebug, config.LevelInfo, config.LevelNotice,
		config.LevelWarn, config.LevelError, config.LevelCrit, config.LevelAlert, config.LevelEmerg}
	names := []string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			lv, ok := ParseLevel(name)
			if !ok || lv.String() != name {
				t.Errorf("ParseLevel(%q) = %v, %v", name, lv, ok)
			}
			if got := FromConfig(cfgLevels[i]); got != lv {
				t.Errorf("FromConfig(%d) = %v, want %v", cfgLevels[i], got, lv)
			}
		})
	}
	if _, ok := ParseLevel("warning"); ok {
		t.Error(`ParseLevel("warning") succeeded`)
	}
	if FromConfig(config.LevelEmerg+5) != Emerg || FromConfig(-1) != Debug || Level(42).String() != "unknown" {
		t.Error("out-of-range levels not clamped")
	}
	got := TargetsFrom([]config.ErrorLog{{Path: "/x.log", Level: config.LevelWarn}, {Path: StderrPath, Level: config.LevelDebug}})
	want := []Target{{Path: "/x.log", Level: Warn}, {Path: StderrPath, Level: Debug}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("TargetsFrom = %v, want %v", got, want)
	}
}

func TestErrno(t *testing.T) {
	_, openErr := os.Open(filepath.Join(t.TempDir(), "missing"))
	tests := []struct {
		err  error
		want string
	}{
		{syscall.ESRCH, "3: No such process"},
		{syscall.EPERM, "1: Operation not permitted"},
		{openErr, "2: No such file or directory"},
		{errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		if got := Errno(tt.err); got != tt.want {
			t.Errorf("Errno(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func BenchmarkLog(b *testing.B) {
	l, err := New(Options{Targets: []Target{{Path: os.DevNull, Level: Info}}, PID: 1, Now: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(Error, "upstream timed out (110: Connection timed out) while reading response header from upstream")
	}
}

// TestInvalidHeader checks the bytes InvalidHeader names against nginx
// 1.22.1's error log lines for the same upstream heads (a scan with
// ngx_http_parse_header_line's rules), and the plain line for a head nginx
// would accept.
func TestInvalidHeader(t *testing.T) {
	const status = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	tests := []struct{ fields, want string }{
		{"X\x01Y: v\r\n", `upstream sent invalid header: "X\x01..." while reading response header from upstream`},
		{"X: a\x00b\r\n", `upstream sent invalid header: "X: a\x00..." while reading response header from upstream`},
		{"X : v\r\n", `upstream sent invalid header: "X\x20..." while reading response header from upstream`},
		{"X: a\rb\r\n", `upstream sent invalid header: "X: a\x0d..." while reading response header from upstream`},
		{"X: a  \rb\r\n", `upstream sent invalid header: "X: a\x20..." while reading response header from upstream`},
		{":x: v\r\n", `upstream sent invalid header: "\x3a..." while reading response header from upstream`},
		{"Good: 1\r\nAbc\x7fdef: v\r\n", `upstream sent invalid header: "Abc\x7f..." while reading response header from upstream`},
		{"NoColonLine\r\n", `upstream sent invalid header while reading response header from upstream`},
		{"X: v\r\n\r\n", `upstream sent invalid header while reading response header from upstream`},
	}
	for _, tt := range tests {
		if got := InvalidHeader([]byte(status+tt.fields), ActionHeader); got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.fields, got, tt.want)
		}
	}
}

// TestHoldDefersClose: a Close while the logger is held takes effect at
// the last Release; lines logged meanwhile are written.
func TestHoldDefersClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.log")
	l, err := New(Options{Targets: []Target{{Path: path, Level: Info}}})
	if err != nil {
		t.Fatal(err)
	}
	l.Hold()
	l.Hold()
	l.Close()
	l.Logf(Error, "held")
	l.Release()
	if l.Closed() {
		t.Fatal("closed with a hold left")
	}
	l.Release()
	if !l.Closed() {
		t.Fatal("open after the last release of a closed logger")
	}
	l.Logf(Error, "dropped")
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "held") || strings.Contains(string(b), "dropped") {
		t.Fatalf("log:\n%s\nwant the held line only", b)
	}
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Hold()
	m.Release()
	if m.Closed() {
		t.Fatal("a release without a Close closed the logger")
	}
}
