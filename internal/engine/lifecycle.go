package engine

import (
	"context"
	"sync"
	"time"
)

// Lifecycle runs a broker's goroutines until Stop and bounds its remote
// calls: each by a timeout, all of them by Stop. Build one with
// NewLifecycle; its methods are safe for concurrent use.
type Lifecycle struct {
	timeout time.Duration
	done    chan struct{}
	ctx     context.Context // ends at Stop
	cancel  context.CancelFunc
	once    sync.Once
	wg      sync.WaitGroup
}

// NewLifecycle returns a running Lifecycle whose calls (Call) last at
// most timeout.
func NewLifecycle(timeout time.Duration) *Lifecycle {
	l := &Lifecycle{timeout: timeout, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// Go runs fn in a goroutine that Wait and StopWait wait for. fn must
// return once Done is closed.
func (l *Lifecycle) Go(fn func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn()
	}()
}

// Every runs fn every d, and at once on each value from kick (nil: none),
// in a goroutine of Go, until Stop.
func (l *Lifecycle) Every(d time.Duration, kick <-chan struct{}, fn func()) {
	l.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-t.C:
			case <-kick:
			}
			fn()
		}
	})
}

// Drain runs, in a goroutine of Go, step after each value from wake and
// again while it reports more work, until Stop: a queue's writer.
func (l *Lifecycle) Drain(wake <-chan struct{}, step func() (more bool)) {
	l.Go(func() {
		for {
			select {
			case <-l.done:
				return
			case <-wake:
			}
			for !l.Stopped() && step() {
			}
		}
	})
}

// Stop closes Done and ends Context and every call's context. It is
// idempotent and does not wait.
func (l *Lifecycle) Stop() {
	l.once.Do(func() { close(l.done) })
	l.cancel()
}

// StopWait is Stop, then waits for the goroutines of Go to return.
func (l *Lifecycle) StopWait() {
	l.Stop()
	l.wg.Wait()
}

// Wait returns a channel closed once every goroutine of Go has returned.
func (l *Lifecycle) Wait() <-chan struct{} {
	stopped := make(chan struct{})
	go func() { l.wg.Wait(); close(stopped) }()
	return stopped
}

// WaitWithin waits for the goroutines of Go until ctx ends; then it
// returns ctx's error.
func (l *Lifecycle) WaitWithin(ctx context.Context) error {
	select {
	case <-l.Wait():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed by Stop.
func (l *Lifecycle) Done() <-chan struct{} { return l.done }

// Stopped reports whether Stop was called.
func (l *Lifecycle) Stopped() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Context ends at Stop: a parent for work that must not outlive the
// broker.
func (l *Lifecycle) Context() context.Context { return l.ctx }

// Call bounds one remote call made within parent by the timeout, and
// ends it at Stop.
func (l *Lifecycle) Call(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, l.timeout)
	stop := context.AfterFunc(l.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Kick is a wake-up signal of capacity one, for Every: sends while one is
// pending are merged into it.
type Kick chan struct{}

// NewKick returns a Kick with nothing pending.
func NewKick() Kick { return make(Kick, 1) }

// Send makes the receiver run at once, without waiting.
func (k Kick) Send() {
	select {
	case k <- struct{}{}:
	default:
	}
}
