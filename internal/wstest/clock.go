package wstest

import (
	"sort"
	"sync"
	"time"
)

// Clock is a manual clock for tests: Now moves only with Advance, which
// runs the calls that became due, in order, each in its own goroutine as
// time.AfterFunc would. The zero value starts at the real current time
// on first use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*clockTimer
}

type clockTimer struct {
	c    *Clock
	when time.Time
	f    func()
	done bool
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	return c.now
}

func (c *Clock) init() {
	if c.now.IsZero() {
		c.now = time.Now()
	}
}

// AfterFunc schedules f at Now()+d.
func (c *Clock) AfterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	t := &clockTimer{c: c, when: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements the timer's Stop.
func (t *clockTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves the clock forward by d and starts every call due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.init()
	c.now = c.now.Add(d)
	var due []*clockTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.when.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].when.Before(due[j].when) })
	for _, t := range due {
		go t.f()
	}
}
