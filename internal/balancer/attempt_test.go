package balancer

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"fulcrum/internal/upstream"
)

func TestBackupSwitchAndNoLiveUpstream(t *testing.T) {
	tests := []struct {
		name    string
		servers []upstream.Settings
		failed  []string // primaries made unavailable by a failure first
		want    string   // one request, retried with Neutral until the end
	}{
		{"failed primaries: backups", []upstream.Settings{srv("a:1"), srv("b:1"), srv("x:1", backup)}, []string{"a:1", "b:1"}, "x -"},
		{"one failed primary: the other, then backups", []upstream.Settings{srv("a:1"), srv("b:1"), srv("x:1", backup)}, []string{"a:1"}, "b x -"},
		{"all failed, no backup", []upstream.Settings{srv("a:1"), srv("b:1")}, []string{"a:1", "b:1"}, "-"},
		{"all failed including backups", []upstream.Settings{srv("a:1"), srv("x:1", backup)}, []string{"a:1"}, "x -"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.servers...)
			for _, name := range tt.failed {
				failServer(t, p, name)
			}
			var a Attempt
			if got := walk(t, &a, p, &RoundRobin{}, Input{}, upstream.Neutral); got != tt.want {
				t.Fatalf("tried %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNextReturnsErrNoLiveUpstream(t *testing.T) {
	p := newPool(t, srv("a:1", down), srv("b:1", down))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	s, err := a.Next(t0)
	if s != nil || !errors.Is(err, ErrNoLiveUpstream) {
		t.Fatalf("Next = %v, %v; want nil, ErrNoLiveUpstream", s, err)
	}
}

func TestTries(t *testing.T) {
	tests := []struct {
		name     string
		servers  []upstream.Settings
		maxTries int
		want     []int // Tries after Reset, then after each release
	}{
		{"all servers", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1", backup)}, 0, []int{3, 2, 1, 0}},
		{"capped by proxy_next_upstream_tries", []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")}, 2, []int{2, 1, 0}},
		{"cap above the servers", []upstream.Settings{srv("a:1"), srv("b:1")}, 5, []int{2, 1, 0}},
		{"down servers do not count", []upstream.Settings{srv("a:1"), srv("b:1", down), srv("c:1")}, 0, []int{2, 1, 0}},
		{"single server", []upstream.Settings{srv("a:1")}, 0, []int{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Attempt
			a.Reset(newPool(t, tt.servers...), &RoundRobin{}, Input{MaxTries: tt.maxTries})
			got := []int{a.Tries()}
			for a.Tries() > 0 {
				if _, err := a.Next(t0); err != nil {
					t.Fatalf("Next: %v", err)
				}
				a.Release(t0, upstream.Failure)
				got = append(got, a.Tries())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("tries %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("tries %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestReleaseReportsDisabled(t *testing.T) {
	// b is down, so a is not a single server and failures count.
	p := newPool(t, srv("a:1", maxFails(2)), srv("b:1", down))
	var a Attempt
	for i, want := range []bool{false, true} {
		now := t0.Add(time.Duration(i) * time.Second)
		a.Reset(p, &RoundRobin{}, Input{})
		if _, err := a.Next(now); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if got := a.Release(now, upstream.Failure); got != want {
			t.Fatalf("failure %d: disabled = %v, want %v", i+1, got, want)
		}
	}
	if a.Release(t0, upstream.Failure) {
		t.Fatal("Release with no server held reported disabled")
	}
}

func TestMaxConnsAcrossRequests(t *testing.T) {
	p := newPool(t, srv("a:1", maxConns(1), weight(10)), srv("b:1"))
	var first, second Attempt
	first.Reset(p, &RoundRobin{}, Input{})
	s1, _ := first.Next(t0)
	second.Reset(p, &RoundRobin{}, Input{})
	s2, _ := second.Next(t0)
	if s1.Name() != "a:1" || s2.Name() != "b:1" {
		t.Fatalf("got %s and %s, want a:1 then b:1 (a at max_conns)", s1.Name(), s2.Name())
	}
	first.Release(t0, upstream.Success)
	second.Release(t0, upstream.Success)
}

func TestNextWithoutReleasePanics(t *testing.T) {
	var a Attempt
	a.Reset(newPool(t, srv("a:1"), srv("b:1")), &RoundRobin{}, Input{})
	if _, err := a.Next(t0); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("second Next without Release did not panic")
		}
	}()
	a.Next(t0)
}

func TestResetReleasesAHeldServer(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"))
	var a Attempt
	a.Reset(p, &RoundRobin{}, Input{})
	s, _ := a.Next(t0)
	a.Reset(p, &RoundRobin{}, Input{})
	if s.Active() != 0 || a.Server() != nil {
		t.Fatalf("after Reset: active %d, held %v; want 0 and nil", s.Active(), a.Server())
	}
}

func TestTriedSetBeyond128Servers(t *testing.T) {
	servers := make([]upstream.Settings, 200)
	for i := range servers {
		servers[i] = srv("10.0.0." + strconv.Itoa(i) + ":80")
	}
	p := newPool(t, servers...)
	var a Attempt
	for range 2 { // the second request reuses the tried set's memory
		a.Reset(p, &RoundRobin{}, Input{})
		seen := make(map[string]bool)
		for {
			s, err := a.Next(t0)
			if err != nil {
				break
			}
			if seen[s.Name()] {
				t.Fatalf("%s tried twice", s.Name())
			}
			seen[s.Name()] = true
			a.Release(t0, upstream.Neutral)
		}
		if len(seen) != 200 {
			t.Fatalf("tried %d servers, want 200", len(seen))
		}
	}
}
