package daemon_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// limitReqConf is the configuration of TestLimitReqReload: one zone of
// SIZE at RATE, the client at 127.0.0.1 limited to one request.
const limitReqConf = `error_log DIR/error.log info;
http {
    access_log off;
    limit_req_zone $binary_remote_addr zone=one:SIZE rate=RATE;
    server {
        listen 127.0.0.1:0;
        location / { limit_req zone=one; limit_req_status 429; proxy_pass http://BACKEND; }
    }
}
`

// TestLimitReqReload checks, over real sockets, the rejection and what a
// reload keeps: a zone with the same name and size keeps its buckets (the
// client stays limited, whatever the new rate), a new size starts empty.
func TestLimitReqReload(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app")
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(size, rate string) {
		c := strings.NewReplacer("DIR", dir, "SIZE", size, "RATE", rate, "BACKEND", backend.Listener.Addr().String()).Replace(limitReqConf)
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1m", "1r/m")
	addr, sigs := runConfigFile(t, path)
	status := func() int {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := []int{status(), status()}; got[0] != 200 || got[1] != 429 {
		t.Fatalf("two requests: %v, want [200 429]", got)
	}
	reload := func(size, rate string) {
		t.Helper()
		write(size, rate)
		reloadAndWait(t, sigs, dir)
	}
	reload("1m", "2r/m")
	if got := status(); got != 429 {
		t.Errorf("after a reload keeping the zone's name and size: %d, want 429", got)
	}
	reload("2m", "2r/m")
	if got := status(); got != 200 {
		t.Errorf("after a reload with a new size: %d, want 200", got)
	}
}

// reconfigured counts the "reconfiguring: done" lines in dir's error log.
func reconfigured(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	return strings.Count(string(b), "reconfiguring: done")
}

// reloadAndWait sends SIGHUP and waits up to 5 s for the daemon logging to
// dir/error.log to finish the reload.
func reloadAndWait(t *testing.T, sigs chan<- os.Signal, dir string) {
	t.Helper()
	before := reconfigured(dir)
	sigs <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for reconfigured(dir) == before {
		if time.Now().After(deadline) {
			t.Fatal("no reload within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
