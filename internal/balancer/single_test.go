package balancer

import (
	"reflect"
	"testing"
	"time"
	"unsafe"

	"fulcrum/internal/upstream"
)

// general hides a policy's type, so that Attempt.Next picks through the
// general path (the pool's Acquire with the chooser) rather than
// acquireSingle.
type general struct{ Policy }

// TestSingleFastPathAnswersAsGeneral checks that the pick of a
// single-server pool without the chooser (acquireSingle) gives the general
// pick's answers, for each policy it takes, in every state of the server:
// usable, down, drained, at max_conns, failed (never unavailable in a
// single pool), and after a change of membership.
func TestSingleFastPathAnswersAsGeneral(t *testing.T) {
	policies := []struct {
		name string
		pol  func() Policy
	}{
		{"round robin", func() Policy { return &RoundRobin{} }},
		{"least_conn", func() Policy { return &LeastConn{} }},
		{"least_time inflight", func() Policy { return &LeastTime{Metric: upstream.MetricHeader, Inflight: true} }},
		{"ip_hash", func() Policy { return &IPHash{} }},
		{"hash", func() Policy { return &Hash{} }},
		{"random two", func() Policy { return &Random{Two: true} }},
	}
	states := []struct {
		name  string
		setup func(t *testing.T, p *upstream.Pool) (held *Attempt)
	}{
		{"usable", func(*testing.T, *upstream.Pool) *Attempt { return nil }},
		{"down", func(t *testing.T, p *upstream.Pool) *Attempt {
			patch(t, p, upstream.ServerPatch{Down: ptr(true)})
			return nil
		}},
		{"drain", func(t *testing.T, p *upstream.Pool) *Attempt {
			patch(t, p, upstream.ServerPatch{Drain: ptr(true)})
			return nil
		}},
		{"at max_conns", func(t *testing.T, p *upstream.Pool) *Attempt {
			patch(t, p, upstream.ServerPatch{MaxConns: ptr(1)})
			var a Attempt
			a.Reset(p, &general{&RoundRobin{}}, Input{})
			if _, err := a.Next(t0); err != nil {
				t.Fatal(err)
			}
			return &a
		}},
		{"failed", func(t *testing.T, p *upstream.Pool) *Attempt {
			var a Attempt
			for range 3 {
				a.Reset(p, &general{&RoundRobin{}}, Input{})
				if _, err := a.Next(t0); err != nil {
					t.Fatal(err)
				}
				a.Release(t0, upstream.Failure)
			}
			return nil
		}},
	}
	type answer struct {
		name          string
		err           error
		tries, active int
		sticky        bool
	}
	run := func(t *testing.T, pol Policy, setup func(*testing.T, *upstream.Pool) *Attempt, change bool) []answer {
		p := newPool(t, srv("a:1"))
		held := setup(t, p)
		var a Attempt
		var out []answer
		for i := range 3 {
			in := Input{Key: "k", MaxTries: 2}
			a.Reset(p, pol, in)
			if change && i == 1 {
				// A membership change after the request started: the
				// server is removed and added again (a new generation of a
				// single-server pool).
				id := p.Server(false, 0).ID()
				if _, err := p.Add(srv("b:1"), false, t0); err != nil {
					t.Fatal(err)
				}
				if err := p.Remove(id); err != nil {
					t.Fatal(err)
				}
			}
			s, err := a.Next(t0)
			ans := answer{err: err, sticky: a.Sticky()}
			if lt, ok := pol.(*LeastTime); ok && a.pending != (s != nil && lt.Inflight) {
				// (general hides least_time from hold: not compared)
				t.Errorf("least_time: pending %v with server %v", a.pending, s)
			}
			if s != nil {
				ans.name, ans.active = short(s), int(s.Active())
				a.Release(t0, upstream.Success)
			}
			ans.tries = a.Tries()
			out = append(out, ans)
		}
		if held != nil {
			held.Release(t0, upstream.Success)
		}
		return out
	}
	for _, pp := range policies {
		for _, st := range states {
			for _, change := range []bool{false, true} {
				fast := run(t, pp.pol(), st.setup, change)
				slow := run(t, &general{pp.pol()}, st.setup, change)
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s, %s, change %v: fast path %+v, general %+v", pp.name, st.name, change, fast, slow)
				}
			}
		}
	}
}

func patch(t *testing.T, p *upstream.Pool, ch upstream.ServerPatch) {
	t.Helper()
	if _, err := p.Patch(p.Server(false, 0).ID(), ch, t0); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestResetSetsEveryField checks that Reset, which sets the fields of an
// Attempt one by one, leaves none from the previous request: every scalar
// field of a used Attempt is made non-zero, and Reset must give the
// Attempt a fresh one gets. A field of another kind must be set from
// Reset's arguments; the test names it so that Reset and the test learn it.
func TestResetSetsEveryField(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"))
	in := Input{Key: "k", StickyID: []byte("id")}
	var fresh, used Attempt
	fresh.Reset(p, &RoundRobin{}, in)
	used.Reset(p, &LeastTime{Metric: upstream.MetricHeader, Inflight: true}, Input{Key: "other", MaxTries: 1})
	if _, err := used.Next(t0); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(&used).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		w := reflect.NewAt(f.Type, unsafe.Pointer(v.Field(i).UnsafeAddr())).Elem()
		switch f.Name {
		case "pool", "policy", "key", "addr", "sticky", "bound", "cur", "tried":
			continue // from Reset's arguments, or handled by Reset (cur, tried)
		case "since":
			w.Set(reflect.ValueOf(t0.Add(time.Hour)))
			continue
		}
		switch w.Kind() {
		case reflect.Bool:
			w.SetBool(true)
		case reflect.Int, reflect.Int64:
			w.SetInt(7)
		case reflect.Uint32, reflect.Uint64:
			w.SetUint(7)
		default:
			t.Fatalf("field %s (%s): new to Reset? set it there and here", f.Name, f.Type)
		}
	}
	used.pending = false // the server held is released as Neutral first
	used.Reset(p, &RoundRobin{}, in)
	if !reflect.DeepEqual(used, fresh) {
		t.Errorf("after Reset:\n%+v\nwant\n%+v", used, fresh)
	}
}
