package keyval

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"fulcrum/internal/testutil"
)

// restart saves z to a state file and reads it into a new zone of the
// same name, size and type whose clock is clock, as a stop and a start
// of the daemon do.
func restart(t *testing.T, z *Zone, clock func() time.Time, timeout time.Duration) (*Zone, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), z.Name()+".keyval")
	if err := z.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := ReadState(data)
	if err != nil {
		t.Fatalf("ReadState(%s): %v", data, err)
	}
	back := NewZone(z.Name(), z.Size(), z.Type(), clock)
	if err := back.LoadState(pairs, timeout); err != nil {
		t.Fatal(err)
	}
	return back, string(data)
}

// TestStateKeepsExpiry: the state file keeps when each pair expires, so
// that after a restart a pair has the time it had left (not a new
// timeout), a per-key expire survives, and a pair that expired while the
// daemon was stopped is gone.
func TestStateKeepsExpiry(t *testing.T) {
	start := time.UnixMilli(1_700_000_000_000)
	clock := testutil.NewClock(start)
	z := NewZone("one", 1<<20, String, clock.Now)
	pairs := map[string]Pair{
		"zone":  {Value: "1"},                           // the zone's timeout, 60s
		"short": {Value: "2", Expire: 10 * time.Second}, // its own expire
		"long":  {Value: "3", Expire: time.Hour},        // longer than the timeout
	}
	if err := z.Add(pairs, time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Add(3 * time.Second)
	// Stopped at +3s; started again at +7s.
	later := testutil.NewClock(start.Add(7 * time.Second))
	back, file := restart(t, z, later.Now, time.Minute)
	ms := start.UnixMilli()
	want := fmt.Sprintf(`{"long":{"value":"3","expire":%d,"ttl":3600000},"short":{"value":"2","expire":%d,"ttl":10000},"zone":{"value":"1","expire":%d,"ttl":60000}}`+"\n",
		ms+3600_000, ms+10_000, ms+60_000)
	if file != want {
		t.Errorf("state file\n%s\nwant\n%s", file, want)
	}
	steps := []struct {
		at   time.Duration // from start
		want string
	}{
		{9999 * time.Millisecond, "long=3 short=2 zone=1"},
		{10 * time.Second, "long=3 zone=1"},
		{60*time.Second - time.Millisecond, "long=3 zone=1"},
		{60 * time.Second, "long=3"},
		{time.Hour - time.Millisecond, "long=3"},
		{time.Hour, ""},
	}
	for _, s := range steps {
		later.Add(start.Add(s.at).Sub(later.Now()))
		if got := kvString(back.All()); got != s.want {
			t.Errorf("at +%v after the restart: %q, want %q", s.at, got, s.want)
		}
	}
	// A restart after "short" expired does not bring it back.
	after := testutil.NewClock(start.Add(20 * time.Second))
	back, _ = restart(t, z, after.Now, time.Minute)
	if _, ok := back.Get("short"); ok {
		t.Error("a pair that expired while stopped came back")
	}
	if got := kvString(back.All()); got != "long=3 zone=1" {
		t.Errorf("after a restart at +20s: %q", got)
	}
}

func kvString(pairs []KV) string {
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Key + "=" + p.Value)
	}
	return b.String()
}

// TestLoadState covers what a state file may hold: pairs without times
// (written before the file kept them, or by a zone without a timeout) get
// the zone's timeout from the start, and a time far ahead, from a clock
// that was wrong, is bounded by the pair's lifetime.
func TestLoadState(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	far := now.Add(10 * 365 * 24 * time.Hour)
	cases := []struct {
		name    string
		stored  Stored
		timeout time.Duration
		want    time.Duration // time left; 0: never expires; -1: dropped
	}{
		{"no time, timeout", Stored{Value: "v"}, time.Minute, time.Minute},
		{"no time, no timeout", Stored{Value: "v"}, 0, 0},
		{"time left", Stored{Value: "v", Expire: now.Add(10 * time.Second), Life: time.Minute}, time.Minute, 10 * time.Second},
		{"expired", Stored{Value: "v", Expire: now, Life: time.Minute}, time.Minute, -1},
		{"expire longer than timeout", Stored{Value: "v", Expire: now.Add(time.Hour), Life: 2 * time.Hour}, time.Minute, time.Hour},
		{"clock was ahead, ttl", Stored{Value: "v", Expire: far, Life: 10 * time.Second}, time.Minute, 10 * time.Second},
		{"clock was ahead, no ttl", Stored{Value: "v", Expire: far}, time.Minute, time.Minute},
		{"zone lost its timeout", Stored{Value: "v", Expire: now.Add(5 * time.Second), Life: time.Minute}, 0, 5 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := testutil.NewClock(now)
			z := NewZone("z", 1<<20, String, clock.Now)
			if err := z.LoadState(map[string]Stored{"k": c.stored}, c.timeout); err != nil {
				t.Fatal(err)
			}
			_, ok := z.Get("k")
			switch {
			case c.want < 0:
				if ok {
					t.Error("an expired pair was loaded")
				}
				return
			case !ok:
				t.Fatal("the pair was not loaded")
			case c.want == 0:
				clock.Add(100 * 365 * 24 * time.Hour)
				if _, ok := z.Get("k"); !ok {
					t.Error("a pair without a time expired")
				}
				return
			}
			clock.Add(c.want - time.Millisecond)
			if _, ok := z.Get("k"); !ok {
				t.Errorf("gone before %v", c.want)
			}
			clock.Add(time.Millisecond)
			if _, ok := z.Get("k"); ok {
				t.Errorf("still there after %v", c.want)
			}
		})
	}
}

// TestReadState: the state file's shapes, old and new, and its errors.
func TestReadState(t *testing.T) {
	cases := []struct {
		data    string
		want    map[string]Stored
		wantErr string
	}{
		{" \n", map[string]Stored{}, ""},
		{`{"a":"1"}`, map[string]Stored{"a": {Value: "1"}}, ""},
		{`{"a":{"value":"1","expire":1700000000123,"ttl":5000}}`, map[string]Stored{"a": {Value: "1", Expire: time.UnixMilli(1700000000123), Life: 5 * time.Second}}, ""},
		{`{"a":{"value":"1"}}`, map[string]Stored{"a": {Value: "1"}}, ""},
		{`{"a":{"value":"1","expire":0,"other":"x"}}`, map[string]Stored{"a": {Value: "1"}}, ""},
		{`{"a":{"expire":1}}`, nil, `key "a": not a string or an object with a string "value"`},
		{`{"a":1}`, nil, `key "a": not a string or an object`},
		{`{"a":{"value":"1","expire":1.5}}`, nil, `key "a": not a string or an object`},
		{`{"a":{"value":"1","expire":-1}}`, nil, `key "a": "expire" or "ttl" out of range`},
		{`{"a":{"value":"1","ttl":9223372036855}}`, nil, `key "a": "expire" or "ttl" out of range`},
		{`[]`, nil, "not a JSON object"},
		{`null`, nil, "not a JSON object"},
	}
	for _, c := range cases {
		got, err := ReadState([]byte(c.data))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ReadState(%s) error %v, want %q", c.data, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ReadState(%s): %v", c.data, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("ReadState(%s) = %v, want %v", c.data, got, c.want)
		}
		for k, w := range c.want {
			if g := got[k]; g.Value != w.Value || !g.Expire.Equal(w.Expire) || g.Life != w.Life {
				t.Errorf("ReadState(%s)[%q] = %+v, want %+v", c.data, k, g, w)
			}
		}
	}
}

// stepped returns t as the clock reads it after the system clock was
// stepped by step (an NTP correction, a VM resumed): the wall reading moved
// by step, the monotonic one kept. Go has no API for that, so it is built
// from time.Time's layout (wall, ext: the monotonic reading for a time
// read with time.Now); the test is skipped if that layout changed.
func stepped(t *testing.T, tm time.Time, step time.Duration) time.Time {
	t.Helper()
	out := tm.Add(step)
	(*[2]int64)(unsafe.Pointer(&out))[1] = (*[2]int64)(unsafe.Pointer(&tm))[1]
	if out.Sub(tm) != 0 || out.Round(0).Sub(tm.Round(0)) != step {
		t.Skip("time.Time's layout changed: cannot build a stepped clock reading")
	}
	return out
}

// TestStateAfterClockStep: a pair's expiry is kept by the monotonic clock
// while fulcrum runs, so a step of the wall clock since the pair was set
// changes nothing in memory; the state file must then hold the time it has
// left from the wall clock of the save, not the wall reading of when it was
// set. A step forward (a machine that started with a wrong clock) would
// otherwise write an expiry already past, and a restart drop the pair with
// most of its time left.
func TestStateAfterClockStep(t *testing.T) {
	set := time.Now() // with a monotonic reading, as the zone's real clock
	now := set
	z := NewZone("one", 1<<20, String, func() time.Time { return now })
	if err := z.Add(map[string]Pair{"k": {Value: "v"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Ten minutes on, the wall clock stepped two hours forward meanwhile.
	now = stepped(t, set.Add(10*time.Minute), 2*time.Hour)
	if v, ok := z.Get("k"); !ok || v != "v" {
		t.Fatalf("before the save: %q %v, want the pair (50 minutes left)", v, ok)
	}
	// Started again a minute later (a new process: wall clock only).
	restarted := now.Round(0).Add(time.Minute)
	back, file := restart(t, z, func() time.Time { return restarted }, time.Hour)
	if v, ok := back.Get("k"); !ok || v != "v" {
		t.Fatalf("after the restart: %q %v, want the pair (49 minutes left); file %s", v, ok, file)
	}
	wantExpire := now.Round(0).Add(50 * time.Minute).UnixMilli()
	if !strings.Contains(file, fmt.Sprintf(`"expire":%d,`, wantExpire)) {
		t.Errorf("state file %s, want expire %d (the save's wall clock plus the 50 minutes left)", file, wantExpire)
	}
}
