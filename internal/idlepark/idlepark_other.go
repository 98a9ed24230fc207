//go:build !linux

package idlepark

import (
	"sync/atomic"
	"time"
)

// Parker is not available without epoll: New fails with ErrUnsupported.
type Parker struct{}

// New returns ErrUnsupported on this system.
func New() (*Parker, error) { return nil, ErrUnsupported }

// Park fails: there is nothing to park in.
func (p *Parker) Park(fd int, deadline time.Time, slot *atomic.Pointer[Ticket], wake func()) (*Ticket, error) {
	return nil, ErrUnsupported
}

// Len reports 0.
func (p *Parker) Len() int { return 0 }

// Close does nothing.
func (p *Parker) Close() {}

func (p *Parker) wake(token uint64) bool { return false }
