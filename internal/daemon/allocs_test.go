package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// maxAllocsPerProxiedRequest is what a small proxied request may allocate in
// the whole process: the request's text (one string for its line and
// fields) and the upstream response's (one string for its fields). Each
// allocation is garbage the collector has to find, and the heap it lets grow
// is resident memory (bench/README.md, profile steps 9 and 12).
//
// Under the race detector sync.Pool drops what is put back at random, so the
// pools' buffers and states are allocated again now and then; the bound there
// only catches gross regressions (8.3 when this test was written).
const (
	maxAllocsPerProxiedRequest     = 2.2
	maxAllocsPerProxiedRequestRace = 12
)

// TestProxiedRequestAllocations counts the heap allocations of small proxied
// requests on a kept-alive connection through the daemon's real path. The
// client and the backend are raw sockets with fixed buffers that allocate
// nothing themselves, so the process's allocation count is the daemon's.
func TestProxiedRequestAllocations(t *testing.T) {
	tests := []struct{ name, server, location string }{
		{"plain", "", ""},
		// status_zone counts in atomics found at load: no allocation.
		{"status zones", "status_zone front;", "status_zone root;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { proxiedRequestAllocations(t, tt.server, tt.location) })
	}
}

// proxiedRequestAllocations runs TestProxiedRequestAllocations with
// server and location added to the server block and its location.
func proxiedRequestAllocations(t *testing.T, server, location string) {
	backend := rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`worker_processes 1;
pid %s/fulcrum.pid;
error_log %s/error.log warn;
http {
    access_log off;
    keepalive_requests 100000;
    upstream backends { server %s; keepalive 8; }
    server {
        listen 127.0.0.1:0;
        %s
        location / { proxy_pass http://backends; %s }
    }
}
`, dir, dir, backend, server, location))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: allocs\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	roundTrip := func() error {
		if _, err := c.Write(req); err != nil {
			return err
		}
		return readSmallResponse(c, buf)
	}
	// Warm up: the upstream connection, the pools, the adaptive stack size.
	for range 500 {
		if err := roundTrip(); err != nil {
			t.Fatal(err)
		}
	}
	const n = 4000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if err := roundTrip(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perRequest := float64(after.Mallocs-before.Mallocs) / n
	t.Logf("%.2f allocations and %.0f bytes per proxied request", perRequest, float64(after.TotalAlloc-before.TotalAlloc)/n)
	limit := maxAllocsPerProxiedRequest
	if raceEnabled {
		limit = maxAllocsPerProxiedRequestRace
	}
	if perRequest > limit {
		t.Errorf("%.2f allocations per small proxied request, want at most %.1f (go test -run TestProxiedRequestAllocations -memprofile, or bench/profile.sh, shows where)", perRequest, limit)
	}
}

// readSmallResponse reads one response with a Content-Length body into buf,
// without allocating.
func readSmallResponse(c net.Conn, buf []byte) error {
	n := 0
	for {
		m, err := c.Read(buf[n:])
		if err != nil {
			return err
		}
		n += m
		head := bytes.Index(buf[:n], []byte("\r\n\r\n"))
		if head < 0 {
			if n == len(buf) {
				return io.ErrShortBuffer
			}
			continue
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("response %q", buf[:head])
		}
		at := bytes.Index(buf[:head], []byte("\r\nContent-Length: "))
		if at < 0 {
			return fmt.Errorf("no Content-Length in %q", buf[:head])
		}
		at += len("\r\nContent-Length: ")
		end := at + bytes.IndexByte(buf[at:head+2], '\r')
		length, err := strconv.Atoi(string(buf[at:end]))
		if err != nil {
			return err
		}
		if n >= head+4+length {
			if n != head+4+length {
				return fmt.Errorf("%d bytes after the response", n-head-4-length)
			}
			return nil
		}
	}
}

// rawBackend serves response to every request on every connection: it reads
// until a request head ends and writes the fixed response, allocating nothing
// per request.
func rawBackend(t *testing.T, response string) string {
	t.Helper()
	resp := []byte(response)
	return testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			for {
				end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if end < 0 {
					break
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				n = copy(buf, buf[end+4:n])
			}
			if n == len(buf) {
				return
			}
		}
	})
}
