package upstream

import (
	"testing"
	"time"
)

// TestCheckVerdicts runs result sequences through one check's state machine.
func TestCheckVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		pol     CheckPolicy
		results string // p = pass, f = fail
		want    HealthState
		changes int // verdict changes seen
	}{
		{"starts healthy", CheckPolicy{}, "", HealthHealthy, 0},
		{"one fail makes unhealthy", CheckPolicy{}, "f", HealthUnhealthy, 1},
		{"one pass brings back", CheckPolicy{}, "fp", HealthHealthy, 2},
		{"fails=3 needs three in a row", CheckPolicy{Fails: 3}, "ffpff", HealthHealthy, 0},
		{"fails=3 reached", CheckPolicy{Fails: 3}, "ffpfff", HealthUnhealthy, 1},
		{"passes=2 needs two in a row", CheckPolicy{Passes: 2}, "fpfp", HealthUnhealthy, 1},
		{"passes=2 reached", CheckPolicy{Passes: 2}, "fpp", HealthHealthy, 2},
		{"mandatory starts checking", CheckPolicy{Mandatory: true}, "", HealthChecking, 0},
		{"mandatory first pass", CheckPolicy{Mandatory: true, Passes: 3}, "p", HealthHealthy, 1},
		{"mandatory first fail", CheckPolicy{Mandatory: true, Fails: 3}, "f", HealthUnhealthy, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, server("10.0.0.1:80"), server("10.0.0.2:80"))
			p.AttachChecks(map[string]CheckPolicy{"c": tt.pol})
			s := p.Server(false, 0)
			changes := 0
			for i, r := range tt.results {
				if s.ReportCheck("c", at(time.Duration(i)*time.Second), r == 'p') != HealthSame {
					changes++
				}
			}
			st := status(t, p, t0, "10.0.0.1:80")
			if st.Health != tt.want || changes != tt.changes {
				t.Errorf("health %v after %d changes, want %v after %d", st.Health, changes, tt.want, tt.changes)
			}
			if st.HealthChecks.Checks != int64(len(tt.results)) {
				t.Errorf("checks = %d, want %d", st.HealthChecks.Checks, len(tt.results))
			}
			if got := p.Acquire(false, t0, firstUsable{}); (got == s) != (tt.want == HealthHealthy) {
				t.Errorf("pick = %v with health %v", got.Name(), tt.want)
			} else if got != nil {
				got.Release(t0, Success)
			}
		})
	}
}

// TestUnhealthySingleServer: an active check takes even a single server
// out (unlike passive health), so requests get "no live upstreams".
func TestUnhealthySingleServer(t *testing.T) {
	p := mustPool(t, server("10.0.0.1:80"))
	p.AttachChecks(map[string]CheckPolicy{"c": {}})
	p.Server(false, 0).ReportCheck("c", t0, false)
	if s := p.Acquire(false, t0, firstUsable{}); s != nil {
		t.Fatalf("picked unhealthy single server %s", s.Name())
	}
	p.Server(false, 0).ReportCheck("c", t0, true)
	if s := p.Acquire(false, t0, firstUsable{}); s == nil {
		t.Fatal("healthy single server not picked")
	}
}

// TestIndependentChecks: with two checks, one failure keeps the server out
// until that same check passes it again.
func TestIndependentChecks(t *testing.T) {
	p := mustPool(t, server("10.0.0.1:80"), server("10.0.0.2:80"))
	p.AttachChecks(map[string]CheckPolicy{"a": {}, "b": {}})
	s := p.Server(false, 0)
	s.ReportCheck("a", t0, false)
	s.ReportCheck("b", t0, true)
	if got := p.Acquire(false, t0, firstUsable{}); got == s {
		t.Fatal("a server that check a failed was picked")
	} else {
		got.Release(t0, Success)
	}
	s.ReportCheck("a", t0, true)
	if got := p.Acquire(false, t0, firstUsable{}); got != s {
		t.Fatal("server not back after check a passed it")
	}
}

// TestChecksAcrossReloads: verdicts survive a reload for servers that stay;
// mandatory checks start over unless persistent keeps a healthy server;
// detached checks no longer hold a server back.
func TestChecksAcrossReloads(t *testing.T) {
	servers := []Settings{server("10.0.0.1:80"), server("10.0.0.2:80")}
	tests := []struct {
		name     string
		pol      CheckPolicy
		failed   bool // the first server failed its check before the reload
		reattach bool // the new snapshot has the check
		want     HealthState
	}{
		{"kept unhealthy", CheckPolicy{}, true, true, HealthUnhealthy},
		{"kept healthy", CheckPolicy{}, false, true, HealthHealthy},
		{"mandatory starts over", CheckPolicy{Mandatory: true}, false, true, HealthChecking},
		{"persistent keeps healthy", CheckPolicy{Mandatory: true, Persistent: true}, false, true, HealthHealthy},
		{"persistent does not keep unhealthy", CheckPolicy{Mandatory: true, Persistent: true}, true, true, HealthChecking},
		{"removed check", CheckPolicy{}, true, false, HealthUnchecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistryClock(func() time.Time { return t0 })
			old, _ := r.Pool("backend", servers)
			old.AttachChecks(map[string]CheckPolicy{"c": tt.pol})
			old.Server(false, 0).ReportCheck("c", t0, !tt.failed)
			next, err := r.Pool("backend", servers)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reattach {
				next.AttachChecks(map[string]CheckPolicy{"c": tt.pol})
			} else {
				next.AttachChecks(nil)
			}
			if got := status(t, next, t0, "10.0.0.1:80").Health; got != tt.want {
				t.Errorf("health after reload = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHealthySlowStart: a server back from unhealthy ramps up over
// slow_start; one passing its first mandatory check does not.
func TestHealthySlowStart(t *testing.T) {
	slow := func(s *Settings) { s.SlowStart = 10 * time.Second }
	for _, mandatory := range []bool{false, true} {
		p := mustPool(t, server("10.0.0.1:80", slow), server("10.0.0.2:80"))
		p.AttachChecks(map[string]CheckPolicy{"c": {Mandatory: mandatory}})
		s := p.Server(false, 0)
		if !mandatory {
			s.ReportCheck("c", t0, false)
		}
		s.ReportCheck("c", at(time.Second), true)
		st := status(t, p, at(6*time.Second), "10.0.0.1:80")
		if st.Ramping == mandatory {
			t.Errorf("mandatory=%t: ramping = %t", mandatory, st.Ramping)
		}
		if !mandatory && st.EffectiveWeight != 0 { // 5s of 10s: half of weight 1, rounded down
			t.Errorf("effective weight mid-ramp = %d, want 0", st.EffectiveWeight)
		}
	}
}

// TestDownServersUnchecked: a down server gets no probe.
func TestDownServersUnchecked(t *testing.T) {
	p := mustPool(t, server("10.0.0.1:80"), server("10.0.0.2:80", down))
	p.AttachChecks(map[string]CheckPolicy{"c": {Mandatory: true}})
	if got := status(t, p, t0, "10.0.0.2:80").Health; got != HealthUnchecked {
		t.Errorf("down server health = %v", got)
	}
	if p.Server(false, 1).ReportCheck("c", t0, false) != HealthSame {
		t.Error("a result for a down server changed something")
	}
}
