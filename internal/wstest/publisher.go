package wstest

import (
	"sync"
	"time"
)

// Publisher calls emit(0), emit(1), … once per tick, from its own
// goroutine, until Stop, recording which calls succeeded: the publisher
// that runs throughout a fault or a recovery in tests.
type Publisher struct {
	mu     sync.Mutex
	acked  []int
	failed []int
	stop   chan struct{}
	done   chan struct{}
}

// StartPublisher starts publishing every d (d <= 0: as fast as emit
// returns).
func StartPublisher(d time.Duration, emit func(i int) error) *Publisher {
	p := &Publisher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var tick <-chan time.Time
		if d > 0 {
			t := time.NewTicker(d)
			defer t.Stop()
			tick = t.C
		}
		for i := 0; ; i++ {
			if tick != nil {
				select {
				case <-p.stop:
					return
				case <-tick:
				}
			} else {
				select {
				case <-p.stop:
					return
				default:
				}
			}
			err := emit(i)
			p.mu.Lock()
			if err == nil {
				p.acked = append(p.acked, i)
			} else {
				p.failed = append(p.failed, i)
			}
			p.mu.Unlock()
		}
	}()
	return p
}

// Counts returns how many calls succeeded and failed so far.
func (p *Publisher) Counts() (acked, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked), len(p.failed)
}

// Acked returns the arguments of the calls that succeeded so far.
func (p *Publisher) Acked() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.acked...)
}

// Stop stops publishing, waits for the goroutine, and returns the
// arguments of the calls that succeeded and of those that failed.
func (p *Publisher) Stop() (acked, failed []int) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.acked...), append([]int(nil), p.failed...)
}
