package upstream

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// stickyTo picks server want when UsableSticky allows it, as a sticky ID
// does, else the first usable server.
type stickyTo struct{ want int }

func (c stickyTo) Choose(v View) int {
	if v.UsableSticky(c.want) {
		return c.want
	}
	return firstUsable{}.Choose(v)
}

// pickSeq returns the names of n successive swrr picks (each released).
func pickSeq(p *Pool, c Chooser, n int) []string {
	var out []string
	for range n {
		s := p.Acquire(false, t0, c)
		if s == nil {
			out = append(out, "-")
			continue
		}
		out = append(out, s.Name())
		s.Release(t0, Success)
	}
	return out
}

func TestPatchBalancing(t *testing.T) {
	tests := []struct {
		name  string
		patch ServerPatch
		c     Chooser
		want  []string
		state func(ServerStatus) bool
	}{
		{"down takes b out", ServerPatch{Down: ptr(true)}, swrr{}, []string{"a", "a", "a"}, func(s ServerStatus) bool { return s.Down }},
		{"drain takes b out of new picks", ServerPatch{Drain: ptr(true)}, swrr{}, []string{"a", "a", "a"}, func(s ServerStatus) bool { return s.Draining && !s.Down }},
		{"drain keeps sticky picks", ServerPatch{Drain: ptr(true)}, stickyTo{1}, []string{"b", "b"}, func(s ServerStatus) bool { return s.Draining }},
		{"down refuses sticky picks", ServerPatch{Down: ptr(true)}, stickyTo{1}, []string{"a", "a"}, func(s ServerStatus) bool { return s.Down }},
		{"weight 3 gives b three of four", ServerPatch{Weight: ptr(3)}, swrr{}, []string{"b", "a", "b", "b"}, func(s ServerStatus) bool { return s.Weight == 3 }},
		{"max_conns, fail_timeout, max_fails", ServerPatch{MaxConns: ptr(5), FailTimeout: ptr(3 * time.Second), MaxFails: ptr(0)}, swrr{}, []string{"a", "b"},
			func(s ServerStatus) bool { return s.MaxConns == 5 && s.FailTimeout == 3*time.Second && s.MaxFails == 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPool(t, server("a"), server("b"))
			st, err := p.Patch(1, tc.patch, t0)
			if err != nil {
				t.Fatal(err)
			}
			if st.ID != 1 || st.Name != "b" || !tc.state(st) {
				t.Errorf("Patch returned %+v", st)
			}
			if got := status(t, p, t0, "b"); !tc.state(got) {
				t.Errorf("Snapshot after the patch: %+v", got)
			}
			if got := pickSeq(p, tc.c, len(tc.want)); !equal(got, tc.want) {
				t.Errorf("picks %v, want %v", got, tc.want)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPatchDownThenUpEndsDrainAndRamps(t *testing.T) {
	p := mustPool(t, server("a"), server("b", func(s *Settings) { s.SlowStart = 10 * time.Second }))
	if _, err := p.Patch(1, ServerPatch{Drain: ptr(true)}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Patch(1, ServerPatch{Down: ptr(true)}, t0); err != nil {
		t.Fatal(err)
	}
	if s := status(t, p, t0, "b"); !s.Down || s.Draining {
		t.Fatalf("down after drain: %+v", s)
	}
	st, err := p.Patch(1, ServerPatch{Down: ptr(false)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Down || st.Draining || !st.Ramping {
		t.Errorf("up again: %+v, want up and in its slow_start ramp", st)
	}
	if s := status(t, p, at(11*time.Second), "b"); s.Ramping {
		t.Errorf("ramp still on after slow_start: %+v", s)
	}
}

func TestPatchErrors(t *testing.T) {
	p := mustPool(t, server("a"), server("b", backup))
	tests := []struct {
		name  string
		id    int
		patch ServerPatch
		want  error
	}{
		{"id past the backups", 2, ServerPatch{}, ErrServerNotFound},
		{"negative id", -1, ServerPatch{}, ErrServerNotFound},
		{"weight 0", 0, ServerPatch{Weight: ptr(0)}, ErrInvalidSetting},
		{"negative max_fails", 1, ServerPatch{MaxFails: ptr(-1)}, ErrInvalidSetting},
		{"negative slow_start", 0, ServerPatch{SlowStart: ptr(-time.Second)}, ErrInvalidSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.Patch(tc.id, tc.patch, t0); !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
	if s := status(t, p, t0, "a"); s.Weight != 1 {
		t.Errorf("a failed patch changed the weight: %+v", s)
	}
	if s := status(t, p, t0, "b"); s.ID != 1 || !s.Backup {
		t.Errorf("backup's ID: %+v", s)
	}
}

// TestReloadDropsPatches: a new pool from the configuration wins over a
// patch of the old one, as NGINX Plus without a state file; counters stay.
func TestReloadDropsPatches(t *testing.T) {
	r := NewRegistryClock(func() time.Time { return t0 })
	p1, err := r.Pool("app", []Settings{server("a"), server("b")})
	if err != nil {
		t.Fatal(err)
	}
	r.Retain(p1)
	if _, err := p1.Patch(1, ServerPatch{Down: ptr(true), Weight: ptr(7)}, t0); err != nil {
		t.Fatal(err)
	}
	s := p1.Acquire(false, t0, firstUsable{})
	s.Account(200, 10, 20)
	s.Release(t0, Success)
	p2, err := r.Pool("app", []Settings{server("a"), server("b")})
	if err != nil {
		t.Fatal(err)
	}
	r.Retain(p2)
	got := status(t, p2, t0, "b")
	if got.Down || got.Weight != 1 {
		t.Errorf("after reload: %+v, want the configuration's settings", got)
	}
	if a := status(t, p2, t0, "a"); a.Requests != 1 || a.Responses.Class2xx != 1 || a.Sent != 10 || a.Received != 20 {
		t.Errorf("counters after reload: %+v", a)
	}
}

func TestAccountClasses(t *testing.T) {
	p := mustPool(t, server("a"))
	s := p.Server(false, 0)
	for _, code := range []int{100, 101, 200, 204, 302, 404, 499, 500, 503, 0, 600, 42} {
		s.Account(code, 1, 2)
	}
	got := status(t, p, t0, "a")
	want := Responses{Class1xx: 2, Class2xx: 2, Class3xx: 1, Class4xx: 2, Class5xx: 2}
	if got.Responses != want || got.Responses.Total() != 9 || got.Sent != 12 || got.Received != 24 {
		t.Errorf("got %+v", got)
	}
}

func TestUnavailCountsTransitions(t *testing.T) {
	p := mustPool(t, server("a", maxFails(2), failTimeout(10*time.Second)), server("b"))
	fail := func(now time.Time) {
		s := p.Acquire(false, now, stickyTo{0})
		if s.Name() != "a" {
			t.Fatalf("picked %s at %v, want a", s.Name(), now.Sub(t0))
		}
		s.Release(now, Failure)
	}
	fail(t0)
	fail(t0)
	if got := status(t, p, t0, "a"); got.Unavail != 1 || got.Failures != 2 || !got.Unavailable {
		t.Errorf("at max_fails: %+v, want unavail 1, fails 2", got)
	}
	fail(at(11 * time.Second)) // the probe after the window fails
	if got := status(t, p, at(11*time.Second), "a"); got.Unavail != 2 || got.Failures != 3 {
		t.Errorf("after a failed probe: unavail %d, fails %d; want 2 and 3", got.Unavail, got.Failures)
	}
}

// TestPatchConcurrentWithPicks runs patches while requests pick, for the
// race detector.
func TestPatchConcurrentWithPicks(t *testing.T) {
	p := mustPool(t, server("a"), server("b"), server("c"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if s := p.Acquire(false, t0, swrr{}); s != nil {
					_ = s.Name() + s.Addr()
					s.Account(200, 1, 1)
					s.Release(t0, Success)
				}
			}
		}()
	}
	for i := range 200 {
		if _, err := p.Patch(i%3, ServerPatch{Weight: ptr(1 + i%4), Drain: ptr(i%2 == 0), SlowStart: ptr(time.Duration(i%2) * time.Second)}, t0); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
