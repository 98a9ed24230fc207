// Package retire releases what a replaced configuration holds once the last
// request or session that uses it has ended.
//
// A configuration in force counts its users in (Enter) and out (Leave); a
// reload stores the next configuration and then retires the old one
// (Retire), whose release runs once, after its last user left, or at once
// when none is left. A user takes the configuration in force, enters, and
// checks that it is still in force before using it (else it leaves and
// takes the new one), so that nothing enters a configuration already
// released.
package retire

import (
	"sync"
	"sync/atomic"
)

// Counter counts the users of one configuration and runs its release
// after the last one, once the configuration was retired. The zero value
// has no release; set Release before the configuration is used.
type Counter struct {
	active  atomic.Int64
	retired atomic.Bool
	once    sync.Once
	// Release lets go of what the configuration holds; it runs once.
	Release func()
}

// Enter counts a user in.
func (c *Counter) Enter() { c.active.Add(1) }

// Leave counts a user out, releasing a retired configuration after its last
// one.
func (c *Counter) Leave() {
	if c.active.Add(-1) == 0 && c.retired.Load() {
		c.once.Do(c.release)
	}
}

// Retire marks the configuration replaced and releases it at once if no one
// uses it.
func (c *Counter) Retire() {
	c.retired.Store(true)
	if c.active.Load() == 0 {
		c.once.Do(c.release)
	}
}

// release runs Release when there is one.
func (c *Counter) release() {
	if c.Release != nil {
		c.Release()
	}
}
