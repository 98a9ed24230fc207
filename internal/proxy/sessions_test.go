package proxy

import (
	"testing"
	"time"
)

func TestSessionZone(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	const timeout = 10 * time.Minute
	type step struct {
		op     string // "learn" or "lookup"
		at     time.Duration
		key    string
		server string // learn: the server; lookup: the answer, "" for none
	}
	tests := []struct {
		name  string
		size  int64
		steps []step
	}{
		{"learned, then found", 1 << 20, []step{
			{"learn", 0, "s1", "a"}, {"lookup", time.Minute, "s1", "a"}, {"lookup", time.Minute, "s2", ""},
		}},
		{"expires after the timeout", 1 << 20, []step{
			{"learn", 0, "s1", "a"}, {"lookup", timeout + time.Second, "s1", ""}, {"lookup", 0, "s1", ""},
		}},
		{"a lookup renews the session", 1 << 20, []step{
			{"learn", 0, "s1", "a"}, {"lookup", 9 * time.Minute, "s1", "a"}, {"lookup", 18 * time.Minute, "s1", "a"},
		}},
		{"learned again, the session moves", 1 << 20, []step{
			{"learn", 0, "s1", "a"}, {"learn", time.Second, "s1", "b"}, {"lookup", 2 * time.Second, "s1", "b"},
		}},
		{"full: the least recently used goes", 2 * sessionBytes, []step{
			{"learn", 0, "s1", "a"}, {"learn", 0, "s2", "b"}, {"lookup", time.Second, "s1", "a"},
			{"learn", 2 * time.Second, "s3", "c"}, // s2 was used least recently
			{"lookup", 3 * time.Second, "s2", ""}, {"lookup", 3 * time.Second, "s1", "a"}, {"lookup", 3 * time.Second, "s3", "c"},
		}},
		{"a zone smaller than a session holds one", 10, []step{
			{"learn", 0, "s1", "a"}, {"learn", 0, "s2", "b"}, {"lookup", 0, "s1", ""}, {"lookup", 0, "s2", "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := NewSessionZone(tt.size)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.op == "learn" {
					z.Learn([]byte(s.key), s.server, now, timeout)
					continue
				}
				got, ok := z.Lookup([]byte(s.key), now, timeout)
				if ok != (s.server != "") || got != s.server {
					t.Fatalf("step %d: Lookup(%s) = %q, %v; want %q", i, s.key, got, ok, s.server)
				}
			}
		})
	}
}

// TestSessionZoneDropsExpired: learning a session drops the expired ones at
// the end of the table, so a busy zone does not fill up with dead sessions.
func TestSessionZoneDropsExpired(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	z := NewSessionZone(1 << 20)
	for _, k := range []string{"s1", "s2", "s3"} {
		z.Learn([]byte(k), "a", t0, time.Minute)
	}
	z.Learn([]byte("s4"), "a", t0.Add(2*time.Minute), time.Minute)
	if n := z.Len(); n != 1 {
		t.Fatalf("%d sessions held, want 1 (three expired)", n)
	}
}
