package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// startDelayBackend starts a backend that answers its name after delay.
func startDelayBackend(t *testing.T, name string, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		fmt.Fprintf(w, "%s %s\n", name, r.RequestURI)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestUpstreamLeastTime: of two servers, one answering after 50 ms and one
// at once, least_time sends most sequential requests to the fast one
// (NGINX Plus: "the least average response time"); round robin alternates.
func TestUpstreamLeastTime(t *testing.T) {
	tests := []struct {
		method string
		ok     func(fast int) bool // of 20 requests
	}{
		{"least_time header;", func(n int) bool { return n >= 17 }},
		{"least_time last_byte inflight;", func(n int) bool { return n >= 17 }},
		{"", func(n int) bool { return n == 10 }},
	}
	for _, tt := range tests {
		t.Run("method "+tt.method, func(t *testing.T) {
			slow := startDelayBackend(t, "slow", 50*time.Millisecond)
			fast := startDelayBackend(t, "fast", 0)
			in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        %s
        server %s;
        server %s;`, tt.method, slow, fast), ""), 1)
			client := newClient()
			count := map[string]int{}
			for i := range 20 {
				code, body := get(t, client, fmt.Sprintf("%s/%d", in.url(0), i))
				if code != http.StatusOK {
					t.Fatalf("request %d: %d %q", i, code, body)
				}
				name, _, _ := strings.Cut(body, " ")
				count[name]++
			}
			if !tt.ok(count["fast"]) {
				t.Errorf("answers %v", count)
			}
		})
	}
}

// TestUpstreamQueueWaits: with max_conns=1 and a queue, a second request
// waits while the first holds the server and is served when it ends,
// instead of getting 502 at once.
func TestUpstreamQueueWaits(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a := startCtlBackend(t, "a")
	a.holdSlow.Store(true)
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s max_conns=1;
        queue 5 timeout=10s;`, a.addr()), ""), 1)
	client := newClient()
	first := sendAsync(client, in.url(0)+"/slow")
	waitFor(t, "the first request to reach a", func() bool { return a.inflight.Load() == 1 })
	second := sendAsync(client, in.url(0)+"/second")
	select {
	case r := <-second:
		t.Fatalf("second request answered %v while the server was busy", r)
	case <-time.After(300 * time.Millisecond):
	}
	a.unblock()
	for _, ch := range []<-chan [2]string{first, second} {
		if r := <-ch; r != [2]string{"200", "a"} {
			t.Errorf("answer %v, want 200 from a", r)
		}
	}
	if got := accessLine(t, in, "/second"); got != "200 "+a.addr()+"|200" {
		t.Errorf("second logged %q", got)
	}
	if a.maxInflight.Load() != 1 {
		t.Errorf("a had %d requests at once, max_conns=1", a.maxInflight.Load())
	}
}

// TestUpstreamQueueFullAndTimeout: "queue 1 timeout=200ms" with the only
// server busy: the second request waits and gets 502 after the timeout,
// the third finds the queue full and gets 502 at once (NGINX Plus: "If the
// queue is filled up, or the server ... cannot be selected within the time
// period specified in the timeout parameter, the 502 (Bad Gateway) error
// will be returned to the client").
func TestUpstreamQueueFullAndTimeout(t *testing.T) {
	a := startCtlBackend(t, "a")
	a.holdSlow.Store(true)
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s max_conns=1;
        queue 1 timeout=200ms;`, a.addr()), ""), 1)
	client := newClient()
	first := sendAsync(client, in.url(0)+"/slow")
	waitFor(t, "the first request to reach a", func() bool { return a.inflight.Load() == 1 })
	start := time.Now()
	second := sendAsync(client, in.url(0)+"/second")
	time.Sleep(50 * time.Millisecond) // let the second request enter the queue
	third := sendAsync(client, in.url(0)+"/third")
	var order []string
	for range 2 {
		select {
		case r := <-second:
			order = append(order, "second")
			if r[0] != "502" {
				t.Errorf("second: %v, want 502", r)
			}
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Errorf("second answered after %v, before the queue's timeout", el)
			}
		case r := <-third:
			order = append(order, "third")
			if r[0] != "502" {
				t.Errorf("third: %v, want 502", r)
			}
		}
	}
	if strings.Join(order, " ") != "third second" {
		t.Errorf("answers in the order %v, want the full queue's 502 first", order)
	}
	a.unblock()
	if r := <-first; r != [2]string{"200", "a"} {
		t.Errorf("first: %v", r)
	}
	for _, uri := range []string{"/second", "/third"} {
		if got := accessLine(t, in, uri); got != "502 app|502" {
			t.Errorf("%s logged %q, want 502 app|502", uri, got)
		}
	}
	waitFor(t, "the queue's error lines", func() bool {
		return in.countLogged("[error]") >= 2 &&
			in.countLogged("upstream queue is full while connecting to upstream") == 1 &&
			in.countLogged("upstream queue timed out while connecting to upstream") == 1
	})
}
