package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// plusPeer is the part of an NGINX Plus API peer TestAPIPlusFields reads.
type plusPeer struct {
	State     string `json:"state"`
	Responses struct {
		Codes map[string]int64 `json:"codes"`
	} `json:"responses"`
	HealthChecks *struct {
		Checks, Fails, Unhealthy int64
		LastPassed               *bool `json:"last_passed"`
	} `json:"health_checks"`
	Downtime  int64  `json:"downtime"`
	Downstart string `json:"downstart"`
	Selected  string `json:"selected"`
}

type plusUpstream struct {
	Peers []plusPeer `json:"peers"`
	Queue *struct {
		Size      int   `json:"size"`
		MaxSize   int   `json:"max_size"`
		Overflows int64 `json:"overflows"`
	} `json:"queue"`
}

// TestAPIPlusFields reads NGINX Plus's responses.codes, selected, queue,
// health_checks, downtime and downstart through the real binary's API and
// sees each move: requests count by code and stamp selected, a request
// turned away by a full queue counts as an overflow, and a failing active
// health check counts checks and fails and makes the server down from
// downstart on, until it passes again.
func TestAPIPlusFields(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	a, b, c := startCtlBackend(t, "a"), startCtlBackend(t, "b"), startCtlBackend(t, "c")
	a.holdSlow.Store(true)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    upstream app { zone app 64k; server %s max_conns=1; queue 1 timeout=10s; }
    upstream hc { zone hc 64k; server %s; server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
        location /hc/ { proxy_pass http://hc; health_check interval=50ms fails=1 passes=1; }
        location /api { api; }
    }
}`, a.addr(), b.addr(), c.addr()), 1)
	client := newClient()
	read := func(name string) plusUpstream {
		t.Helper()
		code, body := get(t, client, in.url(0)+"/api/9/http/upstreams/"+name)
		var u plusUpstream
		if code != http.StatusOK {
			t.Fatalf("GET upstream %s: %d %s", name, code, body)
		}
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatalf("upstream %s: %v in %s", name, err, body)
		}
		return u
	}

	u := read("app")
	if p := u.Peers[0]; len(p.Responses.Codes) != 0 || p.Selected != "" || p.HealthChecks != nil || p.Downtime != 0 {
		t.Errorf("fresh peer: %+v", p)
	}
	if u.Queue == nil || *u.Queue != (struct {
		Size      int   `json:"size"`
		MaxSize   int   `json:"max_size"`
		Overflows int64 `json:"overflows"`
	}{0, 1, 0}) {
		t.Errorf("fresh queue: %+v", u.Queue)
	}
	if code, _ := get(t, client, in.url(0)+"/x"); code != http.StatusOK {
		t.Fatalf("GET /x: %d", code)
	}
	u = read("app")
	if p := u.Peers[0]; p.Responses.Codes["200"] != 1 || len(p.Responses.Codes) != 1 {
		t.Errorf("codes after one 200: %v", p.Responses.Codes)
	}
	if sel, err := time.Parse("2006-01-02T15:04:05.000Z", u.Peers[0].Selected); err != nil || time.Since(sel) > time.Minute || sel.After(time.Now()) {
		t.Errorf("selected %q (%v), want a timestamp of now", u.Peers[0].Selected, err)
	}

	// The queue: the first request holds the only server, the second
	// waits, the third finds the queue full.
	first := sendAsync(client, in.url(0)+"/slow")
	waitFor(t, "the first request to reach a", func() bool { return a.inflight.Load() == 1 })
	second := sendAsync(client, in.url(0)+"/second")
	waitFor(t, "the second request to queue", func() bool { q := read("app").Queue; return q != nil && q.Size == 1 })
	if r := <-sendAsync(client, in.url(0)+"/third"); r[0] != "502" {
		t.Errorf("third request: %v, want 502 from the full queue", r)
	}
	if q := read("app").Queue; q.Size != 1 || q.Overflows != 1 {
		t.Errorf("queue after an overflow: %+v", q)
	}
	a.unblock()
	for _, ch := range []<-chan [2]string{first, second} {
		if r := <-ch; r[0] != "200" {
			t.Errorf("answer %v, want 200", r)
		}
	}
	if u := read("app"); u.Queue.Size != 0 || u.Queue.Overflows != 1 || u.Peers[0].Responses.Codes["200"] != 3 {
		t.Errorf("after the queue drained: queue %+v, codes %v", u.Queue, u.Peers[0].Responses.Codes)
	}

	// Active health checks: c fails them, then passes again.
	waitFor(t, "c's first checks", func() bool {
		hc := read("hc").Peers[1].HealthChecks
		return hc != nil && hc.Checks >= 2 && hc.LastPassed != nil && *hc.LastPassed
	})
	c.mode.Store(mode502)
	waitFor(t, "c to become unhealthy", func() bool { return read("hc").Peers[1].State == "unhealthy" })
	p := read("hc").Peers[1]
	if hc := p.HealthChecks; hc.Fails < 1 || hc.Unhealthy != 1 || hc.LastPassed == nil || *hc.LastPassed {
		t.Errorf("unhealthy c's health_checks: %+v", hc)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", p.Downstart); err != nil {
		t.Errorf("unhealthy c's downstart %q: %v", p.Downstart, err)
	}
	time.Sleep(100 * time.Millisecond) // some downtime
	c.mode.Store(modeOK)
	waitFor(t, "c to be up again", func() bool { return read("hc").Peers[1].State == "up" })
	p = read("hc").Peers[1]
	if p.Downtime < 100 || p.Downstart != "" || !*p.HealthChecks.LastPassed {
		t.Errorf("c up again: downtime %d ms, downstart %q, health_checks %+v", p.Downtime, p.Downstart, p.HealthChecks)
	}
	if p := read("hc").Peers[0]; p.Downtime != 0 || p.Downstart != "" || p.HealthChecks.Fails != 0 {
		t.Errorf("b, always healthy: %+v", p)
	}
}
