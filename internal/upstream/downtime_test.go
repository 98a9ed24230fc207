package upstream

import (
	"testing"
	"time"
)

// TestDowntimeUnavail: a server is down from the failure that reaches
// max_fails until its fail_timeout runs out, again while a failed probe's
// window lasts, and not after the probe passes.
func TestDowntimeUnavail(t *testing.T) {
	p := mustPool(t, server("a:1", maxFails(1), failTimeout(10*time.Second)), server("b:1"))
	a := p.Server(false, 0)
	if st := status(t, p, at(0), "a:1"); st.Downtime != 0 || !st.DownStart.IsZero() {
		t.Fatalf("before any failure: downtime %v, downstart %v", st.Downtime, st.DownStart)
	}
	s := p.Acquire(false, at(time.Second), firstUsable{})
	s.Release(at(time.Second), Failure) // unavail from 1s to 11s
	if st := status(t, p, at(4*time.Second), "a:1"); st.Downtime != 3*time.Second || !st.DownStart.Equal(at(time.Second)) {
		t.Fatalf("during the window: downtime %v, downstart %v; want 3s, %v", st.Downtime, st.DownStart, at(time.Second))
	}
	// Seen only at 30s: the period ended at 11s, by itself.
	if st := status(t, p, at(30*time.Second), "a:1"); st.Downtime != 10*time.Second || !st.DownStart.IsZero() {
		t.Fatalf("after the window: downtime %v, downstart %v; want 10s, none", st.Downtime, st.DownStart)
	}
	// A probe at 40s fails at 41s: down from 40s to 51s.
	if s := p.Acquire(false, at(40*time.Second), firstUsable{}); s != a {
		t.Fatalf("probe went to %v", s)
	}
	a.Release(at(41*time.Second), Failure)
	if st := status(t, p, at(45*time.Second), "a:1"); st.Downtime != 15*time.Second || !st.DownStart.Equal(at(40*time.Second)) {
		t.Fatalf("during the failed probe's window: downtime %v, downstart %v", st.Downtime, st.DownStart)
	}
	// A probe at 60s passes at 61s: the server was down for that second.
	p.Acquire(false, at(60*time.Second), firstUsable{}).Release(at(61*time.Second), Success)
	if st := status(t, p, at(90*time.Second), "a:1"); st.Downtime != 22*time.Second || !st.DownStart.IsZero() {
		t.Fatalf("after a passed probe: downtime %v, downstart %v; want 22s, none", st.Downtime, st.DownStart)
	}
}

// TestDowntimeHealthChecks: checking and unhealthy count as down, from the
// check that made the server so to the one that brought it back.
func TestDowntimeHealthChecks(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	p.AttachChecks(map[string]CheckPolicy{"hc": {Fails: 1, Passes: 1}})
	a := p.Server(false, 0)
	a.ReportCheck("hc", at(0), true)
	a.ReportCheck("hc", at(5*time.Second), false)
	if st := status(t, p, at(7*time.Second), "a:1"); st.Downtime != 2*time.Second || !st.DownStart.Equal(at(5*time.Second)) {
		t.Fatalf("unhealthy: downtime %v, downstart %v", st.Downtime, st.DownStart)
	}
	a.ReportCheck("hc", at(9*time.Second), true)
	st := status(t, p, at(20*time.Second), "a:1")
	if st.Downtime != 4*time.Second || !st.DownStart.IsZero() {
		t.Fatalf("healthy again: downtime %v, downstart %v; want 4s, none", st.Downtime, st.DownStart)
	}
	if hc := st.HealthChecks; hc.Checks != 3 || hc.Fails != 1 || hc.Unhealthy != 1 || !hc.LastPassed {
		t.Errorf("health checks = %+v", hc)
	}
}

// TestSelectedAndCodes: a pick records its time; Account counts each
// status code, and only those in 100-599.
func TestSelectedAndCodes(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	if st := status(t, p, at(0), "a:1"); !st.Selected.IsZero() || st.Codes != nil {
		t.Fatalf("fresh server: selected %v, codes %v", st.Selected, st.Codes)
	}
	s := p.Acquire(false, at(3*time.Second), firstUsable{})
	for _, code := range []int{200, 200, 404, 599, 0, 99, 600} {
		s.Account(code, 0, 0)
	}
	s.Release(at(4*time.Second), Success)
	st := status(t, p, at(5*time.Second), "a:1")
	if !st.Selected.Equal(at(3 * time.Second)) {
		t.Errorf("selected = %v, want %v", st.Selected, at(3*time.Second))
	}
	want := map[int]int64{200: 2, 404: 1, 599: 1}
	if len(st.Codes) != len(want) {
		t.Fatalf("codes = %v, want %v", st.Codes, want)
	}
	for c, n := range want {
		if st.Codes[c] != n {
			t.Errorf("codes[%d] = %d, want %d", c, st.Codes[c], n)
		}
	}
}

// TestQueueOverflows: a request turned away by a full queue counts.
func TestQueueOverflows(t *testing.T) {
	q := NewQueue(1, time.Second)
	w := q.Enter()
	if q.Enter() != nil || q.Enter() != nil {
		t.Fatal("a full queue took a request")
	}
	if n := q.Overflows(); n != 2 {
		t.Errorf("overflows = %d, want 2", n)
	}
	q.Leave(w)
	if q.Enter() == nil || q.Overflows() != 2 {
		t.Errorf("after a leave: overflows %d, want 2 and a place", q.Overflows())
	}
}

// TestAccountDoesNotAllocate: counting a response by code on the request
// path allocates nothing.
func TestAccountDoesNotAllocate(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	s := p.Server(false, 0)
	if n := testing.AllocsPerRun(100, func() { s.Account(404, 10, 20) }); n != 0 {
		t.Errorf("Account allocates %v times", n)
	}
}
