//go:build linux

package idlepark

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// pair returns the two ends of a loopback TCP connection and the fd of the
// server end (the one parked), which stays valid while server is open.
func pair(t *testing.T) (client, server *net.TCPConn, fd int) {
	t.Helper()
	client, server = testutil.TCPPair(t)
	rc, err := server.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(f uintptr) { fd = int(f) })
	return client, server, fd
}

func newParker(t *testing.T) *Parker {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// woken waits for ch or fails after a generous bound.
func woken(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("woke %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never woke", want)
	}
}

// notWoken checks that nothing woke within a short while.
func notWoken(t *testing.T, ch <-chan string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s woke, want none", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestParkWakes(t *testing.T) {
	tests := []struct {
		name  string
		ready func(c, s *net.TCPConn, tk *Ticket)
	}{
		{"the peer writes", func(c, s *net.TCPConn, tk *Ticket) { c.Write([]byte("GET")) }},
		{"the peer closes", func(c, s *net.TCPConn, tk *Ticket) { c.Close() }},
		{"the peer half-closes", func(c, s *net.TCPConn, tk *Ticket) { c.CloseWrite() }},
		{"Wake", func(c, s *net.TCPConn, tk *Ticket) {
			if !tk.Wake() {
				t.Error("Wake of a parked ticket reported false")
			}
		}},
	}
	p := newParker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, fd := pair(t)
			ch := make(chan string, 4)
			var slot atomic.Pointer[Ticket]
			tk, err := p.Park(fd, time.Now().Add(time.Hour), &slot, func() { ch <- tt.name })
			if err != nil {
				t.Fatal(err)
			}
			if slot.Load() != tk {
				t.Error("the slot does not hold the parked ticket")
			}
			notWoken(t, ch)
			tt.ready(c, s, tk)
			woken(t, ch, tt.name)
			if slot.Load() != nil {
				t.Error("the slot still holds the ticket after its wake")
			}
			if tk.Wake() {
				t.Error("Wake after the wake reported true")
			}
			notWoken(t, ch) // once only
			if p.Len() != 0 {
				t.Errorf("Len = %d after the wake, want 0", p.Len())
			}
		})
	}
}

func TestParkReadyAlready(t *testing.T) {
	p := newParker(t)
	c, _, fd := pair(t)
	c.Write([]byte("x")) // on loopback, queued at the receiver when Write returns
	ch := make(chan string, 1)
	if _, err := p.Park(fd, time.Time{}, nil, func() { ch <- "ready" }); err != nil {
		t.Fatal(err)
	}
	woken(t, ch, "ready")
}

func TestParkDeadline(t *testing.T) {
	p := newParker(t)
	_, _, fd := pair(t)
	ch := make(chan string, 1)
	start := time.Now()
	if _, err := p.Park(fd, start.Add(50*time.Millisecond), nil, func() { ch <- "deadline" }); err != nil {
		t.Fatal(err)
	}
	woken(t, ch, "deadline")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("woke after %v, before the deadline", d)
	}
}

// TestParkStaleEvent: a socket that woke, closed and whose fd number was
// reused by the next parked socket must not wake that one with the old
// socket's readiness.
func TestParkFDReused(t *testing.T) {
	p := newParker(t)
	c1, s1, fd1 := pair(t)
	ch := make(chan string, 4)
	tk1, err := p.Park(fd1, time.Time{}, nil, func() { ch <- "first" })
	if err != nil {
		t.Fatal(err)
	}
	tk1.Wake()
	woken(t, ch, "first")
	s1.Close()
	c1.Close()
	_, _, fd2 := pair(t)
	if _, err := p.Park(fd2, time.Time{}, nil, func() { ch <- "second" }); err != nil {
		t.Fatal(err)
	}
	notWoken(t, ch)
	if p.Len() != 1 {
		t.Errorf("Len = %d, want 1", p.Len())
	}
}

func TestCloseWakesAll(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 8)
	for range 5 {
		_, _, fd := pair(t)
		if _, err := p.Park(fd, time.Time{}, nil, func() { ch <- "woke" }); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	for range 5 {
		woken(t, ch, "woke")
	}
	_, _, fd := pair(t)
	if _, err := p.Park(fd, time.Time{}, nil, func() {}); err != ErrClosed {
		t.Fatalf("Park after Close: %v, want ErrClosed", err)
	}
	// The epoll fd's number may be reused by now; only an epoll fd there is an error.
	if link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", p.epfd)); err == nil && link == "anon_inode:[eventpoll]" {
		t.Error("the epoll fd is still open after Close")
	}
}
