package broker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Memory is the broker of a single process: Publish delivers straight
// into the local hub, in the caller's goroutine, so an emit has reached
// every local queue when it returns; except on a channel with history
// while another publisher of it is delivering, which then delivers this
// publication too, in offset order, shortly after (memhistory.go). Build
// one with NewMemory.
type Memory struct {
	deliver func(*Envelope)
	started atomic.Bool
	closed  atomic.Bool
	history memHistory
}

var _ Historian = (*Memory)(nil)

// ErrClosed is returned by a broker used after Close.
var ErrClosed = errors.New("broker: closed")

// NewMemory returns the single-process broker.
func NewMemory() *Memory { return &Memory{history: memHistory{now: time.Now}} }

// Start implements Broker.
func (b *Memory) Start(deliver func(*Envelope)) error {
	if deliver == nil {
		return errors.New("broker: Start: nil deliver func")
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("broker: Start called twice")
	}
	b.deliver = deliver
	return nil
}

// Publish implements Broker.
func (b *Memory) Publish(_ context.Context, e *Envelope) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if e.Retention != nil {
		return b.history.publish(e, b.deliver)
	}
	b.deliver(e)
	return nil
}

// Subscribe implements Broker; a single process needs no subscription.
func (b *Memory) Subscribe(context.Context, string) error { return nil }

// Unsubscribe implements Broker.
func (b *Memory) Unsubscribe(context.Context, string) error { return nil }

// Close implements Broker.
func (b *Memory) Close() error {
	b.closed.Store(true)
	return nil
}
