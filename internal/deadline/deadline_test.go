package deadline

import (
	"testing"
	"time"
)

func TestSlack(t *testing.T) {
	for _, tc := range []struct{ timeout, want time.Duration }{
		{100 * time.Millisecond, 12500 * time.Microsecond},
		{time.Second, 125 * time.Millisecond},
		{60 * time.Second, 300 * time.Millisecond},
		{0, 0},
	} {
		if got := Slack(tc.timeout); got != tc.want {
			t.Errorf("Slack(%v) = %v, want %v", tc.timeout, got, tc.want)
		}
	}
}

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	type step struct {
		after  time.Duration // since t0
		d      time.Duration
		set    bool          // a deadline is to be set
		offset time.Duration // the deadline to set, since t0
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first sets timeout plus slack", []step{{0, time.Second, true, 1125 * ms}}},
		{"kept within slack", []step{
			{0, time.Second, true, 1125 * ms},
			{100 * ms, time.Second, false, 0},
			{125 * ms, time.Second, false, 0},
			{126 * ms, time.Second, true, 1251 * ms},
		}},
		{"a shorter timeout moves it earlier", []step{
			{0, time.Second, true, 1125 * ms},
			{0, 100 * ms, true, 112500 * time.Microsecond},
		}},
		{"a longer timeout moves it later", []step{
			{0, 100 * ms, true, 112500 * time.Microsecond},
			{ms, time.Second, true, 1126 * ms},
		}},
		{"none set, none asked", []step{{0, 0, false, 0}}},
		{"lifted once", []step{
			{0, time.Second, true, 1125 * ms},
			{ms, 0, true, -1},
			{2 * ms, 0, false, 0},
			{3 * ms, time.Second, true, 1128 * ms},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Lazy
			for i, s := range tc.steps {
				now := t0.Add(s.after)
				got, ok := l.Due(now, s.d)
				if ok != s.set {
					t.Fatalf("step %d: set %v, want %v", i, ok, s.set)
				}
				if !ok {
					continue
				}
				want := t0.Add(s.offset)
				if s.offset < 0 {
					want = time.Time{}
				}
				if !got.Equal(want) {
					t.Fatalf("step %d: deadline %v, want %v", i, got, want)
				}
				if !l.At().Equal(want) {
					t.Fatalf("step %d: At %v, want %v", i, l.At(), want)
				}
			}
		})
	}
}

// TestDueNeverEarly checks the promise: whatever the sequence of calls, the
// deadline on the connection is at least now+timeout and at most
// now+timeout+Slack after each Due.
func TestDueNeverEarly(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var l Lazy
	now := t0
	timeouts := []time.Duration{time.Second, 60 * time.Second, 50 * time.Millisecond, 3 * time.Second}
	for i := range 10000 {
		now = now.Add(time.Duration(i%97) * 137 * time.Microsecond)
		d := timeouts[(i/50)%len(timeouts)]
		_, _ = l.Due(now, d)
		if at := l.At(); at.Before(now.Add(d)) || at.After(now.Add(d+Slack(d))) {
			t.Fatalf("call %d: deadline %v outside [now+%v, now+%v+slack]", i, at.Sub(now), d, d)
		}
	}
}

func TestWithinAndSet(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	var l Lazy
	if at, ok := l.Within(t0, 20*ms, 40*ms); !ok || !at.Equal(t0.Add(40*ms)) {
		t.Fatalf("first Within = %v %v, want set at +40ms", at.Sub(t0), ok)
	}
	if _, ok := l.Within(t0.Add(20*ms), 20*ms, 40*ms); ok {
		t.Fatal("Within 20 ms later moved a deadline still in its window")
	}
	if _, ok := l.Within(t0.Add(21*ms), 20*ms, 40*ms); !ok {
		t.Fatal("Within kept a deadline that ends before now+lo")
	}
	l.Set(t0.Add(time.Hour))
	if _, ok := l.Within(t0, 20*ms, 40*ms); !ok {
		t.Fatal("Within kept a deadline set directly past now+hi")
	}
	l.Set(time.Time{})
	if _, ok := l.Due(time.Time{}, 0); ok {
		t.Fatal("Due(0) after Set(zero) asked to lift a deadline that is not there")
	}
}

func BenchmarkDueKept(b *testing.B) {
	var l Lazy
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = l.Due(now.Add(time.Duration(i%1000)*time.Microsecond), time.Minute)
	}
}
