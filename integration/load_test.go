package integration

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// load sends GET requests to one URL from a few goroutines until finish is
// called, counting every request and every failure (an error or a status
// other than 200): the traffic that a reload or an upgrade must not lose.
type load struct {
	total, failed atomic.Int64
	stop          chan struct{}
	wg            sync.WaitGroup
	mu            sync.Mutex // guards failures
	failures      []string
}

// startLoad starts workers goroutines, each with its own client from
// newClient, sending GET url in a loop. seen, when not nil, is called with
// every response and the sequence number its request drew before it was sent
// (see sent), from the worker's goroutine.
func startLoad(workers int, url string, newClient func() *http.Client, seen func(resp *http.Response, seq int64)) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := newClient()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				seq := l.total.Add(1)
				resp, err := client.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if seen != nil {
						seen(resp, seq)
					}
					if resp.StatusCode == http.StatusOK {
						continue
					}
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				l.failed.Add(1)
				l.mu.Lock()
				l.failures = append(l.failures, err.Error())
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// sent returns how many requests the workers have started so far: a request
// whose sequence number is above an earlier sent() began after that call.
func (l *load) sent() int64 { return l.total.Load() }

// waitMore waits until the workers have started n more requests than now.
func (l *load) waitMore(t *testing.T, what string, n int64) {
	t.Helper()
	before := l.sent()
	waitFor(t, what, func() bool { return l.sent() > before+n })
}

// finish stops the workers, waits for them and fails the test, naming what
// the load went through, if any request failed.
func (l *load) finish(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%s: %d requests, %d failed", what, l.total.Load(), l.failed.Load())
	if n := l.failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed across %s: %v", n, l.total.Load(), what, l.failures[:min(5, len(l.failures))])
	}
}
