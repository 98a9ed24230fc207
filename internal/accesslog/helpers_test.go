package accesslog

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// testTime is the fixed clock of $time_local in the tests.
var testTime = time.Date(2026, 11, 25, 1, 24, 22, 0, time.UTC)

// clock is a settable fake clock for flush ages.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func fixedCompiler(now time.Time) *vars.Compiler {
	return &vars.Compiler{Now: func() time.Time { return now }}
}

// curlState is the request `curl http://127.0.0.1/` answered with 200 and
// a five-byte body.
func curlState() *vars.State {
	st := &vars.State{}
	st.Remote = netip.MustParseAddrPort("127.0.0.1:50312")
	st.Local = netip.MustParseAddrPort("127.0.0.1:80")
	st.Method, st.RequestURI, st.Path, st.Proto = "GET", "/", "/", "HTTP/1.1"
	st.Host = "127.0.0.1"
	st.Header = vars.HeaderMap{"Host": {"127.0.0.1"}, "User-Agent": {"curl/8.0"}, "Accept": {"*/*"}}
	st.Status, st.BodyBytesSent, st.BytesSent = 200, 5, 160
	return st
}

// format makes a named log_format.
func format(name, escape, tmpl string) *config.LogFormat {
	return &config.LogFormat{Name: name, Escape: escape, Template: tmpl}
}

// logTo makes an access_log of path in format lf with parameters p.
func logTo(path string, lf *config.LogFormat, p Params) Target {
	return Target{Log: config.AccessLog{Path: path, Format: lf}, Params: p}
}

// buffer returns Params with buffer=n.
func buffer(n int) Params { return Params{Buffer: n, BufferSet: true} }

// mustLogger builds a Logger or fails the test.
func mustLogger(t *testing.T, logs *Logs, targets ...Target) *Logger {
	t.Helper()
	lg, err := logs.Logger(targets)
	if err != nil {
		t.Fatalf("Logger: %v", err)
	}
	return lg
}

// readFile returns the file's content, "" if it does not exist.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}
