package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestUpstreamQueueRetryWaits: NGINX Plus enters the queue whenever no
// server can be selected for a request ("If an upstream server cannot be
// selected immediately while processing a request, the request will be
// placed into the queue"), so a retry waits too. Server a (max_conns=1)
// is held busy by /slow; /second goes to the dead server, and its retry
// (proxy_next_upstream error) finds a busy: it waits in the queue and is
// served by a once /slow ends, its wait in the retry's
// $upstream_queue_time. With proxy_next_upstream_timeout, the wait ends
// when that timeout runs out (502, "upstream queue timed out"), before the
// queue's own timeout.
func TestUpstreamQueueRetryWaits(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	tests := []struct {
		name    string
		extra   string // location directives
		release bool   // a is freed while the retry waits
		status  string
		addr    string // the retry's $upstream_addr, %s: a's
		minWait time.Duration
		// minQueue bounds the retry's $upstream_queue_time from below: the
		// 300 ms a is held after the retry queued, or what is left of
		// proxy_next_upstream_timeout's 400 ms after the first attempt.
		minQueue float64
	}{
		{name: "served", release: true, status: "200", addr: "%s", minWait: 300 * time.Millisecond, minQueue: 0.3},
		{name: "next_upstream_timeout", extra: "proxy_next_upstream_timeout 400ms;", status: "502", addr: "app", minWait: 300 * time.Millisecond, minQueue: 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startCtlBackend(t, "a")
			a.holdSlow.Store(true)
			dead := testutil.RefusedAddr(t)
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format q '$request_uri $status $upstream_addr|$upstream_status|$upstream_queue_time';
    access_log %%DIR%%/access.log q buffer=4k flush=50ms;
    upstream app {
        server %s max_conns=1;
        server %s max_fails=0;
        queue 5 timeout=10s;
        zone app 64k;
    }
    server {
        listen 127.0.0.1:0;
        location / { %s proxy_pass http://app; }
        location /api { api; }
    }
}`, a.addr(), dead, tt.extra), 1)
			client := newClient()
			first := sendAsync(client, in.url(0)+"/slow")
			waitFor(t, "the first request to reach a", func() bool { return a.inflight.Load() == 1 })
			start := time.Now()
			second := sendAsync(client, in.url(0)+"/second")
			if tt.release {
				// a is held from the moment the retry is seen in the queue,
				// however long a loaded machine took to put it there.
				waitFor(t, "the retry to queue", func() bool {
					var u plusUpstream
					code, body := get(t, client, in.url(0)+"/api/9/http/upstreams/app")
					return code == http.StatusOK && json.Unmarshal([]byte(body), &u) == nil && u.Queue != nil && u.Queue.Size == 1
				})
				select {
				case r := <-second:
					t.Fatalf("second answered %v while a was busy", r)
				case <-time.After(300 * time.Millisecond):
				}
				a.unblock()
			}
			r := <-second
			if el := time.Since(start); r[0] != tt.status || el < tt.minWait {
				t.Errorf("second: %v after %v, want %s after at least %v", r, el, tt.status, tt.minWait)
			}
			a.unblock()
			if r := <-first; r != [2]string{"200", "a"} {
				t.Errorf("first: %v", r)
			}
			if a.maxInflight.Load() != 1 {
				t.Errorf("a had %d requests at once, max_conns=1", a.maxInflight.Load())
			}
			got := accessLine(t, in, "/second")
			retry := tt.addr
			if strings.Contains(retry, "%s") {
				retry = fmt.Sprintf(retry, a.addr())
			}
			prefix := fmt.Sprintf("%s %s, %s|502, %s|0.000, ", tt.status, dead, retry, tt.status)
			qt, err := strconv.ParseFloat(strings.TrimPrefix(got, prefix), 64)
			if !strings.HasPrefix(got, prefix) || err != nil || qt < tt.minQueue || qt > 5 {
				t.Errorf("/second logged %q, want %s and the retry's wait", got, prefix)
			}
			if tt.status == "502" {
				waitFor(t, "the queue's error line", func() bool {
					return in.countLogged("upstream queue timed out while connecting to upstream") == 1
				})
			}
		})
	}
}

// TestUpstreamQueueOverflowsSurviveReload: the API's queue.overflows of an
// upstream whose name stays goes on across a reload (SIGHUP), as the
// counters of its servers do, and the metrics say the same.
func TestUpstreamQueueOverflowsSurviveReload(t *testing.T) {
	a := startCtlBackend(t, "a")
	a.holdSlow.Store(true)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s max_conns=1; queue 1 timeout=10s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /api { api; }
        location = /metrics { metrics; }
    }
}`, a.addr()), 1)
	client := newClient()
	read := func() (gen int, u plusUpstream) {
		t.Helper()
		var ngx struct{ Generation int }
		for url, v := range map[string]any{"/api/9/nginx": &ngx, "/api/9/http/upstreams/app": &u} {
			code, body := get(t, client, in.url(0)+url)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", url, code, body)
			}
			if err := json.Unmarshal([]byte(body), v); err != nil {
				t.Fatalf("%s: %v in %s", url, err, body)
			}
		}
		return ngx.Generation, u
	}
	first := sendAsync(client, in.url(0)+"/slow")
	waitFor(t, "the first request to reach a", func() bool { return a.inflight.Load() == 1 })
	second := sendAsync(client, in.url(0)+"/second")
	waitFor(t, "the second request to queue", func() bool { _, u := read(); return u.Queue != nil && u.Queue.Size == 1 })
	if r := <-sendAsync(client, in.url(0)+"/third"); r[0] != "502" {
		t.Errorf("third request: %v, want 502 from the full queue", r)
	}
	a.unblock()
	for _, ch := range []<-chan [2]string{first, second} {
		if r := <-ch; r[0] != "200" {
			t.Errorf("answer %v, want 200", r)
		}
	}
	if gen, u := read(); gen != 1 || u.Queue == nil || u.Queue.Overflows != 1 {
		t.Fatalf("before the reload: generation %d, queue %+v; want 1 overflow", gen, u.Queue)
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { gen, _ := read(); return gen == 2 })
	if _, u := read(); u.Queue == nil || u.Queue.Overflows != 1 || u.Queue.MaxSize != 1 || u.Queue.Size != 0 {
		t.Errorf("after the reload: queue %+v, want 1 overflow kept", u.Queue)
	}
	if _, body := get(t, client, in.url(0)+"/metrics"); !strings.Contains(body, `fulcrum_upstream_queue_overflows_total{upstream="app"} 1`+"\n") {
		t.Errorf("metrics after the reload lack the kept overflow:\n%s", body)
	}
}

// TestUpstreamQueueRetryEveryPass: every kind of pass retries through the
// queue as proxy_pass does. The live server (max_conns=1) is held busy by
// /first; /second fails on the dead server, its retry waits in the queue
// and is served by the live server once /first ends.
func TestUpstreamQueueRetryEveryPass(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	for _, kind := range queueBackends {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel() // its own backends and process; most of it is waiting
			g, addr, openGate := startGated(t, kind.start)
			dead := testutil.RefusedAddr(t)
			listen := "127.0.0.1:0"
			if kind.h2 {
				listen += " http2"
			}
			in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    log_format q '$request_uri $status $upstream_addr|$upstream_queue_time';
    access_log %%DIR%%/access.log q buffer=4k flush=50ms;
    upstream app {
        server %s max_conns=1;
        server %s max_fails=0;
        queue 5 timeout=10s;
    }
    server {
        listen %s;
        location / { %s }
    }
}
`, addr, dead, listen, kind.location), 1)
			client := newClient()
			if kind.h2 {
				tr := testutil.H2CTransport(in.listening()[0])
				defer tr.CloseIdleConnections()
				client = &http.Client{Transport: tr, Timeout: 20 * time.Second}
			}
			first := sendAsync(client, in.url(0)+"/first")
			waitFor(t, "the first request to reach the server", func() bool { return g.inflight.Load() == 1 })
			second := sendAsync(client, in.url(0)+"/second")
			select {
			case r := <-second:
				t.Fatalf("/second answered %v while the server was busy", r)
			case <-time.After(300 * time.Millisecond):
			}
			openGate()
			for _, ch := range []<-chan [2]string{first, second} {
				if r := <-ch; r[0] != "200" {
					t.Errorf("answer %v, want 200", r)
				}
			}
			got := accessLine(t, in, "/second")
			prefix := fmt.Sprintf("200 %s, %s|0.000, ", dead, addr)
			qt, err := strconv.ParseFloat(strings.TrimPrefix(got, prefix), 64)
			if !strings.HasPrefix(got, prefix) || err != nil || qt < 0.25 || qt > 10 {
				t.Errorf("/second logged %q, want %s and the retry's wait", got, prefix)
			}
		})
	}
}

// TestUpstreamQueueTimeoutBoundsRetries: the queue's timeout bounds the
// whole wait of a request, its retries' waits included (NGINX Plus: "the
// server to pass the request to cannot be selected within the time period
// specified in the timeout parameter"), not each wait. a and b
// (max_conns=1) are held busy by /slow requests; /second waits in the
// queue until b is freed, b drops it (proxy_next_upstream error), and the
// retry (a busy, b tried) waits only what the first wait left of the 1s
// timeout: 502 with "upstream queue timed out" about 1s after /second
// came, and its $upstream_queue_time entries add up to the timeout.
func TestUpstreamQueueTimeoutBoundsRetries(t *testing.T) {
	const timeout = time.Second
	const firstWait = 500 * time.Millisecond
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	a.holdSlow.Store(true)
	b.holdSlow.Store(true)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format q '$request_uri $status $upstream_addr|$upstream_queue_time';
    access_log %%DIR%%/access.log q buffer=4k flush=50ms;
    upstream app {
        server %s max_conns=1;
        server %s max_conns=1 max_fails=0;
        queue 5 timeout=%dms;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, a.addr(), b.addr(), timeout.Milliseconds()), 1)
	client := newClient()
	slowA := sendAsync(client, in.url(0)+"/slow-a")
	waitFor(t, "/slow-a to reach a", func() bool { return a.inflight.Load() == 1 })
	slowB := sendAsync(client, in.url(0)+"/slow-b")
	waitFor(t, "/slow-b to reach b", func() bool { return b.inflight.Load() == 1 })
	start := time.Now()
	second := sendAsync(client, in.url(0)+"/second")
	select {
	case r := <-second:
		t.Fatalf("/second answered %v while a and b were busy", r)
	case <-time.After(firstWait):
	}
	b.mode.Store(modeDrop) // /slow-b is past the mode: only /second is dropped
	b.unblock()
	if r := <-slowB; r != [2]string{"200", "b"} {
		t.Errorf("/slow-b: %v", r)
	}
	r := <-second
	el := time.Since(start)
	if r[0] != "502" || el < timeout || el > timeout+300*time.Millisecond {
		t.Errorf("/second: %v after %v, want 502 after the queue's timeout %v (not a new timeout for the retry)", r, el, timeout)
	}
	a.unblock()
	if r := <-slowA; r != [2]string{"200", "a"} {
		t.Errorf("/slow-a: %v", r)
	}
	got := accessLine(t, in, "/second")
	addrs, times, _ := strings.Cut(strings.TrimPrefix(got, "502 "), "|")
	if !strings.HasPrefix(got, "502 "+b.addr()+", ") || !strings.HasSuffix(addrs, ", app") {
		t.Errorf("/second logged %q, want 502, b, then the queue's app", got)
	}
	var sum float64
	for _, f := range strings.Split(times, ", ") {
		qt, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("/second logged %q: $upstream_queue_time %q", got, f)
		}
		sum += qt
	}
	if sum < timeout.Seconds()-0.01 || sum > timeout.Seconds()+0.1 {
		t.Errorf("/second logged %q: waited %.3fs in all, want the queue's timeout %v", got, sum, timeout)
	}
	waitFor(t, "the queue's error line", func() bool {
		return in.countLogged("upstream queue timed out while connecting to upstream") == 1
	})
}
