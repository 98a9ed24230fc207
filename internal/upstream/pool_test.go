package upstream

import (
	"errors"
	"testing"
)

func TestPoolTiersSingleAndTries(t *testing.T) {
	tests := []struct {
		name        string
		servers     []Settings
		wantPrimary int
		wantBackup  int
		wantSingle  bool
		wantTries   int
	}{
		{"one server", []Settings{server("a:1")}, 1, 0, true, 1},
		{"one down server", []Settings{server("a:1", down)}, 1, 0, true, 0},
		{"one server and a down one", []Settings{server("a:1"), server("b:1", down)}, 2, 0, false, 1},
		{"one server and a backup", []Settings{server("a:1"), server("b:1", backup)}, 1, 1, false, 2},
		{"backups listed first", []Settings{server("b:1", backup), server("a:1"), server("c:1", backup, down)}, 1, 2, false, 2},
		{"three primaries", []Settings{server("a:1"), server("b:1"), server("c:1")}, 3, 0, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.servers...)
			if p.Len(false) != tt.wantPrimary || p.Len(true) != tt.wantBackup {
				t.Fatalf("tiers %d/%d, want %d/%d", p.Len(false), p.Len(true), tt.wantPrimary, tt.wantBackup)
			}
			if p.Single() != tt.wantSingle {
				t.Errorf("Single() = %v, want %v", p.Single(), tt.wantSingle)
			}
			if p.Tries() != tt.wantTries {
				t.Errorf("Tries() = %d, want %d", p.Tries(), tt.wantTries)
			}
			if p.HasBackup() != (tt.wantBackup > 0) {
				t.Errorf("HasBackup() = %v", p.HasBackup())
			}
			for _, b := range []bool{false, true} {
				for i := 0; i < p.Len(b); i++ {
					s := p.Server(b, i)
					if s.Index() != i || s.Backup() != b || s.Pool() != p {
						t.Errorf("server %d of tier backup=%v has index %d backup %v", i, b, s.Index(), s.Backup())
					}
				}
			}
		})
	}
}

func TestNewPoolErrors(t *testing.T) {
	tests := []struct {
		name    string
		servers []Settings
		want    error
	}{
		{"no servers", nil, ErrNoServers},
		{"only backups", []Settings{server("a:1", backup)}, ErrNoServers},
		{"bad weight", []Settings{server("a:1", weight(0))}, errInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPool("u", tt.servers); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAcquireCountsAndNil(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	s1 := p.Acquire(false, at(0), firstUsable{})
	s2 := p.Acquire(false, at(0), firstUsable{})
	if s1 == nil || s1 != s2 || s1.Name() != "a:1" {
		t.Fatalf("acquired %v and %v, want a:1 twice", s1, s2)
	}
	if s1.Active() != 2 {
		t.Fatalf("Active = %d, want 2", s1.Active())
	}
	s1.Release(at(0), Success)
	s2.Release(at(0), Neutral)
	if s1.Active() != 0 {
		t.Fatalf("Active after releases = %d, want 0", s1.Active())
	}
	if got := p.Acquire(true, at(0), firstUsable{}); got != nil {
		t.Fatalf("Acquire on an empty backup tier = %v, want nil", got)
	}
	none := chooserFunc(func(View) int { return -1 })
	if got := p.Acquire(false, at(0), none); got != nil {
		t.Fatalf("Acquire with a chooser that finds nothing = %v, want nil", got)
	}
	st := status(t, p, at(0), "a:1")
	if st.Requests != 2 || st.Active != 0 || st.Failures != 0 {
		t.Fatalf("status = %+v, want 2 requests, 0 active, 0 failures", st)
	}
}

type chooserFunc func(View) int

func (f chooserFunc) Choose(v View) int { return f(v) }

func TestMaxConns(t *testing.T) {
	p := mustPool(t, server("a:1", maxConns(2)), server("b:1"))
	var got []string
	var held []*Server
	for range 4 {
		s := p.Acquire(false, at(0), firstUsable{})
		got = append(got, s.Name())
		held = append(held, s)
	}
	want := []string{"a:1", "a:1", "b:1", "b:1"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("picks %v, want %v", got, want)
		}
	}
	held[0].Release(at(0), Success)
	if s := p.Acquire(false, at(0), firstUsable{}); s.Name() != "a:1" {
		t.Fatalf("after one release got %s, want a:1 again", s.Name())
	}
}

func TestMaxConnsSingleServer(t *testing.T) {
	p := mustPool(t, server("a:1", maxConns(1)))
	s := p.Acquire(false, at(0), firstUsable{})
	if s == nil {
		t.Fatal("first acquire failed")
	}
	if again := p.Acquire(false, at(0), firstUsable{}); again != nil {
		t.Fatal("a single server at max_conns was acquired")
	}
	s.Release(at(0), Success)
	if again := p.Acquire(false, at(0), firstUsable{}); again == nil {
		t.Fatal("a single server below max_conns was not acquired")
	}
}

func TestPanickingChooserDoesNotLockThePool(t *testing.T) {
	p := mustPool(t, server("a:1"), server("b:1"))
	func() {
		defer func() { recover() }()
		p.Acquire(false, at(0), chooserFunc(func(View) int { panic("boom") }))
	}()
	if s := p.Acquire(false, at(0), firstUsable{}); s == nil {
		t.Fatal("pool unusable after a chooser panicked")
	}
}

func TestServerAddrPort(t *testing.T) {
	tests := []struct {
		set  Settings
		want string // netip.AddrPort.String(); "invalid AddrPort" for none
	}{
		{NewSettings(NetworkTCP, "127.0.0.1:8080"), "127.0.0.1:8080"},
		{NewSettings(NetworkTCP, "[::1]:443"), "[::1]:443"},
		{NewSettings(NetworkUnix, "/run/app.sock"), "invalid AddrPort"},
	}
	for _, tt := range tests {
		t.Run(tt.set.Addr, func(t *testing.T) {
			p := mustPool(t, tt.set)
			if got := p.Server(false, 0).AddrPort().String(); got != tt.want {
				t.Errorf("AddrPort() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAddrText checks what $upstream_addr shows for a server: the name as
// written for TCP, "unix:" and the path for a socket.
func TestAddrText(t *testing.T) {
	named := NewSettings("tcp", "127.0.0.1:8080")
	named.Name = "backend.test:8080"
	p, err := NewPool("u", []Settings{NewSettings("tcp", "127.0.0.1:80"), named, NewSettings("unix", "/run/app.sock")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:80", "backend.test:8080", "unix:/run/app.sock"}
	for i, s := range p.Servers() {
		if got := s.AddrText(); got != want[i] {
			t.Errorf("server %d: AddrText %q, want %q", i, got, want[i])
		}
	}
}
