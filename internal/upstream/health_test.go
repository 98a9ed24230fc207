package upstream

import (
	"testing"
	"time"
)

// step is one request of a passive-health timeline: at time at, a pick
// (firstUsable: server a whenever it is usable) must return want ("" for
// no server); the server is then released with out (or kept in flight
// when hold is set), Release must report disabled, and afterwards a's
// fails must be fails.
type step struct {
	at       time.Duration
	want     string
	out      Outcome
	hold     bool
	disabled bool
	fails    int
}

const ns = time.Nanosecond

// runTimeline plays steps against a pool and checks each one.
func runTimeline(t *testing.T, p *Pool, steps []step) {
	t.Helper()
	for i, st := range steps {
		now := at(st.at)
		s := p.Acquire(false, now, firstUsable{})
		got := ""
		if s != nil {
			got = s.Name()
		}
		if got != st.want {
			t.Fatalf("step %d (t=%v): picked %q, want %q", i, st.at, got, st.want)
		}
		if s != nil && !st.hold {
			if dis := s.Release(now, st.out); dis != st.disabled {
				t.Fatalf("step %d (t=%v): Release(%v) disabled = %v, want %v", i, st.at, st.out, dis, st.disabled)
			}
		}
		if f := status(t, p, now, "a:1").Fails; f != st.fails {
			t.Fatalf("step %d (t=%v): fails = %d, want %d", i, st.at, f, st.fails)
		}
	}
}

func TestPassiveHealthTimelines(t *testing.T) {
	const a, b = "a:1", "b:1"
	s := time.Second
	tests := []struct {
		name  string
		a     Settings
		steps []step
	}{
		{
			name: "disabled on the Nth failure",
			a:    server(a, maxFails(3)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 1 * s, want: a, out: Failure, fails: 2},
				{at: 2 * s, want: a, out: Failure, disabled: true, fails: 3},
				{at: 3 * s, want: b, out: Success, fails: 3},
			},
		},
		{
			name: "skipped inside the window, probed just after",
			a:    server(a),
			steps: []step{
				{at: 0, want: a, out: Failure, disabled: true, fails: 1},
				{at: 5 * s, want: b, out: Success, fails: 1},
				{at: 10 * s, want: b, out: Success, fails: 1}, // now-checked == fail_timeout: still skipped
				{at: 10*s + ns, want: a, out: Success, fails: 0},
			},
		},
		{
			name: "exactly one probe per window while it is in flight",
			a:    server(a),
			steps: []step{
				{at: 0, want: a, out: Failure, disabled: true, fails: 1},
				{at: 11 * s, want: a, hold: true, fails: 1}, // the probe
				{at: 11 * s, want: b, out: Success, fails: 1},
				{at: 15 * s, want: b, out: Success, fails: 1},
				{at: 21 * s, want: b, out: Success, fails: 1},
				{at: 21*s + ns, want: a, hold: true, fails: 1}, // next window, next probe
			},
		},
		{
			name: "probe success resets fails",
			a:    server(a, maxFails(2)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 1 * s, want: a, out: Failure, disabled: true, fails: 2},
				{at: 12 * s, want: a, out: Success, fails: 0},
				{at: 13 * s, want: a, out: Failure, fails: 1}, // counting starts over
			},
		},
		{
			name: "neutral probe ends the probe like a success",
			a:    server(a),
			steps: []step{
				{at: 0, want: a, out: Failure, disabled: true, fails: 1},
				{at: 11 * s, want: a, out: Neutral, fails: 0},
			},
		},
		{
			name: "probe failure disables for another window",
			a:    server(a),
			steps: []step{
				{at: 0, want: a, out: Failure, disabled: true, fails: 1},
				{at: 11 * s, want: a, out: Failure, disabled: true, fails: 2},
				{at: 12 * s, want: b, out: Success, fails: 2},
				{at: 21 * s, want: b, out: Success, fails: 2},
				{at: 21*s + ns, want: a, out: Success, fails: 0},
			},
		},
		{
			name: "success inside the window does not reset the count",
			a:    server(a, maxFails(3)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 1 * s, want: a, out: Success, fails: 1},
				{at: 2 * s, want: a, out: Failure, fails: 2},
				{at: 3 * s, want: a, out: Success, fails: 2},
				{at: 4 * s, want: a, out: Failure, disabled: true, fails: 3},
				{at: 5 * s, want: b, out: Success, fails: 3},
			},
		},
		{
			name: "success picked after the window resets the count",
			a:    server(a, maxFails(3)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 11 * s, want: a, out: Success, fails: 0},
			},
		},
		{
			name: "failures spaced wider than fail_timeout still add up",
			a:    server(a, maxFails(3), failTimeout(8*s)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 9 * s, want: a, out: Failure, fails: 2},
				{at: 18 * s, want: a, out: Failure, disabled: true, fails: 3},
				{at: 19 * s, want: b, out: Success, fails: 3},
			},
		},
		{
			name: "worked example: max_fails=3 fail_timeout=8s, a failure every 5s",
			a:    server(a, maxFails(3), failTimeout(8*s)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 5 * s, want: a, out: Failure, fails: 2},
				{at: 10 * s, want: a, out: Failure, disabled: true, fails: 3},
				{at: 15 * s, want: b, out: Success, fails: 3},
				{at: 18 * s, want: b, out: Success, fails: 3},
				{at: 18*s + ns, want: a, out: Success, fails: 0},
			},
		},
		{
			name: "max_fails=0 never disables",
			a:    server(a, maxFails(0)),
			steps: []step{
				{at: 0, want: a, out: Failure, fails: 1},
				{at: 1 * s, want: a, out: Failure, fails: 2},
				{at: 2 * s, want: a, out: Success, fails: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runTimeline(t, mustPool(t, tt.a, server(b, maxFails(0))), tt.steps)
		})
	}
}

func TestSingleServerExemption(t *testing.T) {
	t.Run("one server is never marked unavailable", func(t *testing.T) {
		p := mustPool(t, server("a:1"))
		runTimeline(t, p, []step{
			{at: 0, want: "a:1", out: Failure, fails: 0},
			{at: time.Second, want: "a:1", out: Failure, fails: 0},
			{at: 2 * time.Second, want: "a:1", out: Success, fails: 0},
		})
		if st := status(t, p, at(0), "a:1"); st.Failures != 2 || st.Unavailable {
			t.Fatalf("status %+v: want 2 failures counted in stats and available", st)
		}
	})
	t.Run("a down entry counts as a second server", func(t *testing.T) {
		p := mustPool(t, server("a:1"), server("b:1", down))
		runTimeline(t, p, []step{
			{at: 0, want: "a:1", out: Failure, disabled: true, fails: 1},
			{at: time.Second, want: "", fails: 1},
		})
	})
	t.Run("a backup ends the exemption", func(t *testing.T) {
		p := mustPool(t, server("a:1"), server("b:1", backup))
		runTimeline(t, p, []step{
			{at: 0, want: "a:1", out: Failure, disabled: true, fails: 1},
			{at: time.Second, want: "", fails: 1},
		})
		if s := p.Acquire(true, at(time.Second), firstUsable{}); s == nil || s.Name() != "b:1" {
			t.Fatalf("backup tier gave %v, want b:1", s)
		}
	})
}

func TestEffectiveWeightDropAndRecovery(t *testing.T) {
	tests := []struct {
		name  string
		a     Settings
		fails int
		want  []int // effective weight of a after each failure, then after each pick round
	}{
		// weight/max_fails = 4/2 = 2 per failure, +1 per round.
		{name: "weight 4 max_fails 2", a: server("a:1", weight(4), maxFails(2)), fails: 1, want: []int{2, 3, 4, 4}},
		// Defaults: 1/1 = 1, so one failure drops it to 0.
		{name: "defaults drop to zero", a: server("a:1", maxFails(1)), fails: 1, want: []int{0}},
		// 5/3 = 1 per failure (integer division); two failures: 3.
		{name: "integer division", a: server("a:1", weight(5), maxFails(3)), fails: 2, want: []int{4, 3, 4, 5, 5}},
		// Never below zero: 3/1 = 3 per failure.
		{name: "not below zero", a: server("a:1", weight(3), maxFails(1), failTimeout(0)), fails: 2, want: []int{0, 0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.a, server("b:1", maxFails(0)))
			var got []int
			var now time.Time
			for i := range tt.fails {
				now = at(time.Duration(i) * ns)
				s := p.Acquire(false, now, firstUsable{})
				if s.Name() != "a:1" {
					t.Fatalf("failure %d went to %s", i, s.Name())
				}
				s.Release(now, Failure)
				got = append(got, status(t, p, now, "a:1").EffectiveWeight)
			}
			// Picks far past the window so a is usable: each is one round.
			for now = at(time.Hour); len(got) < len(tt.want); now = now.Add(time.Hour) {
				s := p.Acquire(false, now, swrr{})
				s.Release(now, Success)
				got = append(got, status(t, p, now, "a:1").EffectiveWeight)
			}
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Fatalf("effective weights %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestStatusUnavailable(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	s := p.Acquire(false, at(0), firstUsable{})
	s.Release(at(0), Failure)
	if st := status(t, p, at(time.Second), "a:1"); !st.Unavailable || st.Fails != 1 || st.Failures != 1 {
		t.Fatalf("inside the window: %+v, want unavailable with 1 fail", st)
	}
	if st := status(t, p, at(11*time.Second), "a:1"); st.Unavailable {
		t.Fatalf("after the window: %+v, want available", st)
	}
}
