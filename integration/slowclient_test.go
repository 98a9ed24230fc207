package integration

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"testing"
	"time"
)

// openFDs counts the file descriptors of process pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestSlowClientsDoNotHurtOthers opens a few hundred connections that send their
// header or body a byte at a time, while a normal client keeps making requests.
// The normal client must see no error and low latency, the slow connections must
// be closed at their timeouts, and fulcrum's file descriptors must return to the
// baseline.
func TestSlowClientsDoNotHurtOthers(t *testing.T) {
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events { worker_connections 1024; }
http {
    client_header_timeout 1s;
    client_body_timeout 1s;
    lingering_timeout 1s;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
        location /ret { return 200 "never reads the body"; }
    }
}`, b.addr()), 1)
	addr := in.listening()[0]
	pid := in.cmd.Process.Pid
	client := newClient()
	get(t, client, "http://"+addr+"/warm")
	baseline := openFDs(t, pid)

	const slow = 300
	var wg sync.WaitGroup
	closedAt := make(chan time.Duration, slow)
	start := time.Now()
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("slow client %d: %v", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			msg := "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " // a header that never ends
			if i%2 == 1 {                                  // a body that never ends
				msg = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
			}
			for j := 0; ; j++ {
				ch := "x"
				if j < len(msg) {
					ch = msg[j : j+1]
				}
				if _, err := io.WriteString(c, ch); err != nil {
					break
				}
				// The pace of a slowloris: a header byte every 400 ms never
				// completes the header within client_header_timeout (a limit
				// for the whole header); a body byte every 1.5 s is slower than
				// client_body_timeout, which bounds the gap between two reads
				// (and than lingering_timeout, which bounds it while fulcrum
				// discards the body a return left, as nginx does).
				if j >= len(msg) {
					pause := 400 * time.Millisecond
					if i%2 == 1 {
						pause = 1500 * time.Millisecond
					}
					time.Sleep(pause)
				}
				one := make([]byte, 1)
				c.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := c.Read(one); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
				}
				if i%4 == 3 {
					continue // the return answers at once; the connection must close later
				}
				break // a response or EOF: fulcrum answered or closed
			}
			closedAt <- time.Since(start)
		}()
	}
	// Meanwhile a normal client keeps making requests.
	var latencies []time.Duration
	for time.Since(start) < 2500*time.Millisecond {
		t0 := time.Now()
		code, _ := get(t, client, "http://"+addr+"/normal")
		latencies = append(latencies, time.Since(t0))
		if code != 200 {
			t.Fatalf("normal client got %d with slow clients around", code)
		}
	}
	wg.Wait()
	close(closedAt)
	var last time.Duration
	n := 0
	for d := range closedAt {
		n++
		last = max(last, d)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	p99 := latencies[len(latencies)*99/100]
	t.Logf("%d slow connections, all closed after %v at the latest; normal client: %d requests, p50 %v, p99 %v",
		n, last, len(latencies), latencies[len(latencies)/2], p99)
	if n != slow {
		t.Errorf("%d of %d slow connections ended", n, slow)
	}
	if last > 5*time.Second {
		t.Errorf("slow connections lived %v, want about the 1s timeouts", last)
	}
	if p99 > 500*time.Millisecond {
		t.Errorf("normal client p99 %v with slow clients around", p99)
	}
	waitFor(t, "file descriptors back to the baseline", func() bool { return openFDs(t, pid) <= baseline+2 })
}
