package upstream

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegistryKeepsStateAcrossRebuild(t *testing.T) {
	r := NewRegistry()
	v1, err := r.Pool("backend", []Settings{server("a:1"), server("b:1")})
	if err != nil {
		t.Fatal(err)
	}
	a1 := v1.Acquire(false, at(0), firstUsable{})
	if !a1.Release(at(0), Failure) {
		t.Fatal("a was not disabled by its first failure")
	}
	held := v1.Acquire(false, at(0), firstUsable{}) // b, kept in flight across the reload

	v2, err := r.Pool("backend", []Settings{server("a:1", weight(3)), server("b:1"), server("c:1")})
	if err != nil {
		t.Fatal(err)
	}
	now := at(time.Second)
	if st := status(t, v2, now, "a:1"); !st.Unavailable || st.Fails != 1 || st.Weight != 3 || st.Failures != 1 {
		t.Fatalf("a in the new pool: %+v, want unavailable, 1 fail, weight 3", st)
	}
	if st := status(t, v2, now, "b:1"); st.Active != 1 {
		t.Fatalf("b in the new pool: active %d, want the 1 request in flight from the old pool", st.Active)
	}
	if st := status(t, v2, now, "c:1"); st.Fails != 0 || st.Requests != 0 {
		t.Fatalf("new server c: %+v, want fresh state", st)
	}
	if s := v2.Acquire(false, now, firstUsable{}); s.Name() != "b:1" {
		t.Fatalf("new pool picked %s while a is down, want b:1", s.Name())
	} else {
		s.Release(now, Success)
	}
	held.Release(now, Success)
	if st := status(t, v2, now, "b:1"); st.Active != 0 || st.Requests != 2 {
		t.Fatalf("b after releases: %+v, want 0 active, 2 requests", st)
	}
}

func TestRegistryNewSettingsApply(t *testing.T) {
	t.Run("higher max_fails makes the server usable in the new pool only", func(t *testing.T) {
		r := NewRegistry()
		v1, _ := r.Pool("u", []Settings{server("a:1"), server("b:1")})
		v1.Acquire(false, at(0), firstUsable{}).Release(at(0), Failure)
		v2, _ := r.Pool("u", []Settings{server("a:1", maxFails(3)), server("b:1")})
		now := at(time.Second)
		if s := v2.Acquire(false, now, firstUsable{}); s.Name() != "a:1" {
			t.Fatalf("new pool picked %s, want a:1 (1 fail < max_fails 3)", s.Name())
		}
		if s := v1.Acquire(false, now, firstUsable{}); s.Name() != "b:1" {
			t.Fatalf("old pool picked %s, want b:1 (1 fail >= max_fails 1)", s.Name())
		}
	})
	t.Run("new weights drive smooth round robin", func(t *testing.T) {
		r := NewRegistry()
		v1, _ := r.Pool("u", []Settings{server("a:1"), server("b:1"), server("c:1")})
		for range 5 { // move v1's current weights away from zero
			v1.Acquire(false, at(0), swrr{}).Release(at(0), Success)
		}
		v2, _ := r.Pool("u", []Settings{server("a:1", weight(5)), server("b:1"), server("c:1")})
		var got []string
		for range 7 {
			s := v2.Acquire(false, at(0), swrr{})
			got = append(got, strings.TrimSuffix(s.Name(), ":1"))
			s.Release(at(0), Success)
		}
		if g := strings.Join(got, " "); g != "a a b a c a a" {
			t.Fatalf("picks %q, want %q", g, "a a b a c a a")
		}
	})
	t.Run("the failure penalty carries over to the new weight", func(t *testing.T) {
		r := NewRegistry()
		v1, _ := r.Pool("u", []Settings{server("a:1", weight(6), maxFails(3)), server("b:1")})
		v1.Acquire(false, at(0), firstUsable{}).Release(at(0), Failure) // 6/3: effective 4
		tests := []struct {
			weight, want int
		}{
			{weight: 10, want: 8}, // deficit 2 kept
			{weight: 6, want: 4},
			{weight: 1, want: 0}, // deficit clamped to the weight
		}
		for _, tt := range tests {
			v2, _ := r.Pool("u", []Settings{server("a:1", weight(tt.weight), maxFails(3)), server("b:1")})
			if st := status(t, v2, at(0), "a:1"); st.EffectiveWeight != tt.want {
				t.Errorf("weight %d: effective weight %d, want %d", tt.weight, st.EffectiveWeight, tt.want)
			}
		}
	})
}

func TestRegistryRetain(t *testing.T) {
	r := NewRegistry()
	v1, _ := r.Pool("web", []Settings{server("a:1"), server("b:1")})
	api, _ := r.Pool("api", []Settings{server("x:1")})
	v1.Acquire(false, at(0), chooserFunc(func(View) int { return 1 })).Release(at(0), Failure) // b fails
	r.Retain(v1, api)
	if r.known("web") != 2 || r.known("api") != 1 {
		t.Fatalf("after first Retain: web %d api %d, want 2 and 1", r.known("web"), r.known("api"))
	}

	v2, _ := r.Pool("web", []Settings{server("a:1")})
	r.Retain(v2) // b and the whole api upstream are gone
	if r.known("web") != 1 || r.known("api") != 0 {
		t.Fatalf("after Retain(v2): web %d api %d, want 1 and 0", r.known("web"), r.known("api"))
	}
	if got := r.Snapshot(at(0)); len(got) != 1 || got[0].Name != "web" || len(got[0].Servers) != 1 {
		t.Fatalf("Snapshot = %+v, want web with one server", got)
	}

	// The old pool still works while it drains.
	if s := v1.Acquire(false, at(time.Second), firstUsable{}); s == nil || s.Name() != "a:1" {
		t.Fatalf("old pool after Retain gave %v", s)
	} else {
		s.Release(at(time.Second), Success)
	}

	// b comes back later with fresh state.
	v3, _ := r.Pool("web", []Settings{server("a:1"), server("b:1")})
	if st := status(t, v3, at(time.Second), "b:1"); st.Fails != 0 || st.Failures != 0 {
		t.Fatalf("re-added b: %+v, want fresh state", st)
	}
}

func TestRegistryDuplicateAddresses(t *testing.T) {
	r := NewRegistry()
	p, _ := r.Pool("u", []Settings{server("a:1"), server("a:1"), server("b:1")})
	first := p.Acquire(false, at(0), firstUsable{})
	first.Release(at(0), Failure)
	if second := p.Acquire(false, at(0), firstUsable{}); second.Index() != 1 || second.Name() != "a:1" {
		t.Fatalf("picked index %d (%s), want the second a:1 with its own state", second.Index(), second.Name())
	}
	if r.known("u") != 3 {
		t.Fatalf("known = %d, want 3 states", r.known("u"))
	}
}

func TestRegistryFailedBuildChangesNothing(t *testing.T) {
	r := NewRegistry()
	v1, _ := r.Pool("u", []Settings{server("a:1", weight(4)), server("b:1")})
	if _, err := r.Pool("u", []Settings{server("a:1", weight(1)), server("b:1", weight(0))}); err == nil {
		t.Fatal("invalid weight accepted")
	}
	if st := status(t, v1, at(0), "a:1"); st.Weight != 4 || st.EffectiveWeight != 4 {
		t.Fatalf("old pool after failed build: %+v", st)
	}
}

// TestRegistryConcurrentGenerations hammers an old and a new pool of one
// upstream at once, with a third build and Retain in the middle, and
// checks that every in-flight count returns to zero. Run with -race.
func TestRegistryConcurrentGenerations(t *testing.T) {
	r := NewRegistry()
	servers := []Settings{server("a:1", maxConns(3)), server("b:1", maxFails(2)), server("c:1", backup)}
	v1, _ := r.Pool("u", servers)
	v2, _ := r.Pool("u", append([]Settings{server("d:1")}, servers...))
	pools := []*Pool{v1, v2}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := pools[g%2]
			for i := range 2000 {
				now := at(time.Duration(i) * time.Millisecond)
				s := p.Acquire(i%5 == 0, now, swrr{})
				if s == nil {
					continue
				}
				s.Release(now, Outcome(i%3))
			}
		})
	}
	wg.Go(func() {
		v3, err := r.Pool("u", servers)
		if err != nil {
			t.Error(err)
			return
		}
		r.Retain(v3)
		_ = r.Snapshot(at(0))
	})
	wg.Wait()
	for _, p := range pools {
		for _, st := range p.Snapshot(at(0), nil) {
			if st.Active != 0 {
				t.Errorf("%s: active %d after all releases", st.Name, st.Active)
			}
		}
	}
}

// TestRegistryKeepsQueueOverflows: a reload's new queue of an upstream
// whose name stays goes on counting its overflows from the old queue's
// count; the old queue, still draining, counts into the same; an upstream
// that a reload drops starts from zero when it comes back.
func TestRegistryKeepsQueueOverflows(t *testing.T) {
	r := NewRegistry()
	overflow := func(p *Pool) {
		q := p.Queue()
		w := q.Enter()
		if q.Enter() != nil {
			t.Fatal("a full queue took a request")
		}
		q.Leave(w)
	}
	build := func(name string) *Pool {
		p, err := r.Pool(name, []Settings{server("a:1")})
		if err != nil {
			t.Fatal(err)
		}
		p.SetQueue(NewQueue(1, time.Second))
		return p
	}
	v1, api := build("web"), build("api")
	r.Retain(v1, api)
	overflow(v1)
	overflow(v1)
	overflow(api)
	v2 := build("web")
	r.Retain(v2)
	if n := v2.Queue().Overflows(); n != 2 {
		t.Errorf("after a reload: overflows %d, want 2", n)
	}
	overflow(v1) // the old pool drains
	overflow(v2)
	if a, b := v1.Queue().Overflows(), v2.Queue().Overflows(); a != 4 || b != 4 {
		t.Errorf("old and new queue: overflows %d and %d, want 4", a, b)
	}
	api2 := build("api")
	if n := api2.Queue().Overflows(); n != 0 {
		t.Errorf("an upstream back after a reload without it: overflows %d, want 0", n)
	}
}
