package idlepark

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Parker is one epoll set of parked sockets and the goroutine that waits on
// it. The zero value is not usable; make one with New.
type Parker struct {
	epfd int
	// wakefd is an eventfd in the set that Close writes to, ending the loop.
	wakefd int

	mu     sync.Mutex // guards the fields below
	next   uint64
	parked map[uint64]*Ticket
	closed bool
	done   chan struct{}
}

// New makes a Parker and starts its goroutine.
func New() (*Parker, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("idlepark: epoll_create1: %w", err)
	}
	wfd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, fmt.Errorf("idlepark: eventfd: %w", errno)
	}
	p := &Parker{epfd: epfd, wakefd: int(wfd), parked: make(map[uint64]*Ticket), next: 1, done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // token 0: the eventfd
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wakefd, &ev); err != nil {
		syscall.Close(p.wakefd)
		syscall.Close(epfd)
		return nil, fmt.Errorf("idlepark: epoll_ctl: %w", err)
	}
	go p.loop()
	return p, nil
}

// Park watches fd, which must stay open until the ticket wakes (Wake it
// before closing fd), and runs wake in a new goroutine once fd is readable
// or hung up, once deadline passes (if not zero), or on Wake or Close. A
// socket that is readable already wakes at once.
//
// slot, if not nil, holds the ticket while it waits: Park stores it and the
// wake clears it, both under the Parker's lock, so that an owner who takes
// the ticket from slot (Swap) to Wake it never finds one that woke already
// and whose fd may be another socket's by now.
func (p *Parker) Park(fd int, deadline time.Time, slot *atomic.Pointer[Ticket], wake func()) (*Ticket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	t := &Ticket{p: p, token: p.next, fd: fd, wake: wake, slot: slot}
	p.next++
	// Level-triggered and one-shot: readiness at the time of the add counts,
	// and the loop sees the socket once. The token, not the fd, names it:
	// an event that comes after the ticket woke and fd was closed and
	// reused finds no ticket.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	setToken(&ev, t.token)
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return nil, fmt.Errorf("idlepark: epoll_ctl: %w", err)
	}
	p.parked[t.token] = t
	if slot != nil {
		slot.Store(t)
	}
	if !deadline.IsZero() {
		token := t.token
		t.timer = time.AfterFunc(time.Until(deadline), func() { p.wake(token) })
	}
	return t, nil
}

// Len reports how many sockets are parked.
func (p *Parker) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// wake ends ticket token's wait if it still waits.
func (p *Parker) wake(token uint64) bool {
	p.mu.Lock()
	t, ok := p.parked[token]
	if ok {
		delete(p.parked, token)
		// Out of the set before the caller may close the fd. An error
		// means the fd was closed already, which the caller must not do:
		// the set dropped it with its last reference then.
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, t.fd, nil)
		if t.slot != nil {
			t.slot.CompareAndSwap(t, nil)
		}
	}
	p.mu.Unlock()
	if !ok {
		return false
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	go t.wake()
	return true
}

// loop waits on the set until Close and wakes each ticket whose socket
// became readable.
func (p *Parker) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			// Not expected: wake everyone so that nothing waits forever,
			// and stop (Park fails from here on; Close releases the set).
			p.shut()
			return
		}
		for _, ev := range events[:n] {
			token := getToken(&ev)
			if token == 0 {
				return // Close
			}
			p.wake(token)
		}
	}
}

// Close wakes every parked ticket, stops the goroutine and releases the
// epoll set. Park fails after it.
func (p *Parker) Close() {
	if !p.shut() {
		return
	}
	one := [8]byte{1}
	_, _ = syscall.Write(p.wakefd, one[:])
	<-p.done
	syscall.Close(p.wakefd)
	syscall.Close(p.epfd)
}

// shut makes Park fail from now on and wakes every parked ticket. It
// reports whether it was the first to shut p.
func (p *Parker) shut() bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.closed = true
	tokens := make([]uint64, 0, len(p.parked))
	for token := range p.parked {
		tokens = append(tokens, token)
	}
	p.mu.Unlock()
	for _, token := range tokens {
		p.wake(token)
	}
	return true
}

// setToken and getToken keep a ticket's token in the event's 8 data bytes
// (syscall.EpollEvent splits them into Fd and Pad).
func setToken(ev *syscall.EpollEvent, token uint64) {
	ev.Fd = int32(uint32(token))
	ev.Pad = int32(uint32(token >> 32))
}

func getToken(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
