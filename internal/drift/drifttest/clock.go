// Package drifttest is a test kit for the drift scheduler: a clock that
// moves only when a test moves it.
package drifttest

import (
	"context"
	"sync"
	"time"
)

// Clock is a drift.Clock under a test's control. Its time moves only by Set
// and Advance, which fire the waits that have come due; Waiters lets a test
// see that a scheduler is waiting before it moves the time.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	// changed is closed, and replaced, whenever the waiters change.
	changed chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock standing at now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, changed: make(chan struct{})}
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After sends the time once the clock has moved d on; at once when d <= 0.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	c.signalLocked()
	return ch
}

// Set moves the clock to t, never back, firing every wait due by then.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
	c.signalLocked()
}

// Advance moves the clock d on.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Waiters is how many waits are pending.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// WaitForWaiters blocks until at least n waits are pending, which is how a
// test knows that n schedulers are waiting; false when ctx ends first.
func (c *Clock) WaitForWaiters(ctx context.Context, n int) bool {
	for {
		c.mu.Lock()
		got, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func (c *Clock) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
