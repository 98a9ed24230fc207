package upstream

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// picks runs n SWRR picks (each released at once) and returns the names.
func picks(p *Pool, n int, now time.Time) []string {
	var out []string
	for range n {
		s := p.Acquire(false, now, swrr{})
		if s == nil {
			out = append(out, "-")
			continue
		}
		out = append(out, s.Name())
		s.Release(now, Success)
	}
	return out
}

func TestAddRemoveMembership(t *testing.T) {
	tests := []struct {
		name       string
		start      []Settings
		add        []Settings
		remove     []int
		wantIDs    []int
		wantSingle bool
		wantTries  int
		wantPicks  []string
	}{
		{"add to one", []Settings{server("a:1")}, []Settings{server("b:1", weight(2))}, nil,
			[]int{0, 1}, false, 2, []string{"b:1", "a:1", "b:1"}},
		{"remove to one", []Settings{server("a:1"), server("b:1")}, nil, []int{0},
			[]int{1}, true, 1, []string{"b:1", "b:1"}},
		{"add a backup", []Settings{server("a:1")}, []Settings{server("c:1", backup)}, nil,
			[]int{0, 1}, false, 2, []string{"a:1", "a:1"}},
		{"ids are not reused", []Settings{server("a:1"), server("b:1", backup)}, []Settings{server("c:1"), server("d:1")}, []int{2, 1},
			[]int{0, 3}, false, 2, []string{"a:1", "d:1"}},
		{"remove every server", []Settings{server("a:1")}, nil, []int{0},
			nil, false, 0, []string{"-"}},
		{"add a down server", []Settings{server("a:1")}, []Settings{server("b:1", down)}, nil,
			[]int{0, 1}, false, 1, []string{"a:1", "a:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.start...)
			_, _, gen := p.Shape()
			for _, set := range tt.add {
				if _, err := p.Add(set, false, t0); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tt.remove {
				if err := p.Remove(id); err != nil {
					t.Fatal(err)
				}
			}
			var ids []int
			for _, st := range p.Snapshot(t0, nil) {
				ids = append(ids, st.ID)
			}
			if len(ids) != len(tt.wantIDs) || (len(ids) > 0 && !slices.Equal(ids, tt.wantIDs)) {
				t.Errorf("IDs %v, want %v", ids, tt.wantIDs)
			}
			if p.Single() != tt.wantSingle || p.Tries() != tt.wantTries {
				t.Errorf("single %v tries %d, want %v %d", p.Single(), p.Tries(), tt.wantSingle, tt.wantTries)
			}
			if _, _, g := p.Shape(); g != gen+uint64(len(tt.add)+len(tt.remove)) {
				t.Errorf("generation %d after %d changes from %d", g, len(tt.add)+len(tt.remove), gen)
			}
			if got := picks(p, len(tt.wantPicks), t0); !equal(got, tt.wantPicks) {
				t.Errorf("picks %v, want %v", got, tt.wantPicks)
			}
		})
	}
}

func TestAddRemoveErrors(t *testing.T) {
	p := mustPool(t, server("a:1"))
	if _, err := p.Add(server("b:1", weight(0)), false, t0); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("weight 0: %v", err)
	}
	if err := p.Remove(7); !errors.Is(err, ErrServerNotFound) {
		t.Errorf("remove 7: %v", err)
	}
	p.NoBackup()
	if _, err := p.Add(server("b:1", backup), false, t0); !errors.Is(err, ErrNoBackup) {
		t.Errorf("backup with NoBackup: %v", err)
	}
	if err := p.Remove(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(0); !errors.Is(err, ErrServerNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	if _, err := p.Patch(0, ServerPatch{}, t0); !errors.Is(err, ErrServerNotFound) {
		t.Errorf("patch a removed server: %v", err)
	}
}

// TestRemoveInFlight: a request in flight to a removed server releases it
// normally; its state leaves the group, so the address added again starts
// afresh.
func TestRemoveInFlight(t *testing.T) {
	p := mustPool(t, server("a:1", maxFails(1)), server("b:1"))
	s := p.Acquire(false, t0, firstUsable{})
	if s.Name() != "a:1" {
		t.Fatalf("picked %s", s.Name())
	}
	if err := p.Remove(s.ID()); err != nil {
		t.Fatal(err)
	}
	if !s.Removed() || s.Index() != -1 || s.Active() != 1 {
		t.Fatalf("removed %v index %d active %d", s.Removed(), s.Index(), s.Active())
	}
	if got := picks(p, 2, t0); !equal(got, []string{"b:1", "b:1"}) {
		t.Fatalf("picks after remove: %v", got)
	}
	s.Release(t0, Failure)
	if s.Active() != 0 {
		t.Fatalf("active %d after release", s.Active())
	}
	st, err := p.Add(server("a:1"), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 0 || st.Failures != 0 || st.Fails != 0 || st.ID != 2 {
		t.Fatalf("a:1 added again: %+v", st)
	}
}

// TestAddSlowStart: an added server with slow_start ramps from now.
func TestAddSlowStart(t *testing.T) {
	p := mustPool(t, server("a:1"))
	st, err := p.Add(server("b:1", func(s *Settings) { s.SlowStart = 10 * time.Second }), false, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ramping || st.EffectiveWeight != 0 {
		t.Fatalf("added with slow_start: %+v", st)
	}
	if got := status(t, p, at(5*time.Second), "b:1"); !got.Ramping {
		t.Fatalf("half way: %+v", got)
	}
	if got := status(t, p, at(11*time.Second), "b:1"); got.Ramping || got.EffectiveWeight != 1 {
		t.Fatalf("after the ramp: %+v", got)
	}
}

// TestAddChecks: an added server gets the pool's active checks: checking
// with a mandatory one, so it takes no request before a check passes.
func TestAddChecks(t *testing.T) {
	p := mustPool(t, server("a:1"))
	p.AttachChecks(map[string]CheckPolicy{"k": {Mandatory: true}})
	ch := p.Changed()
	if _, err := p.Add(server("b:1"), false, t0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by Add")
	}
	if got := status(t, p, t0, "b:1"); got.Health != HealthChecking {
		t.Fatalf("added server health %v, want checking", got.Health)
	}
	b := p.Server(false, 1)
	if b.ReportCheck("k", t0, true); status(t, p, t0, "b:1").Health != HealthHealthy {
		t.Fatal("not healthy after a passed check")
	}
}

// TestChangesRace picks and releases on several goroutines while servers
// come and go (go test -race).
func TestChangesRace(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if s := p.Acquire(false, t0, swrr{}); s != nil {
					s.Release(t0, Failure)
				}
				p.Snapshot(t0, nil)
				_ = p.Single()
			}
		})
	}
	for i := range 200 {
		st, err := p.Add(server("c:1", weight(1+i%3)), false, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Remove(st.ID); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if p.Len(false) != 2 {
		t.Fatalf("%d primaries left", p.Len(false))
	}
}
