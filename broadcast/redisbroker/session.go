package redisbroker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// session is one pub/sub connection's life: its reader goroutine, the
// time it last heard from Redis, and the subscribers waiting for a
// confirmation.
type session struct {
	ps       *redis.PubSub
	done     chan struct{} // closed when the reader returns
	err      error         // why the reader returned; read after done
	lastSeen atomic.Int64  // unix nanoseconds

	// pendingUnsub counts our own unsubscribes not yet acknowledged, per
	// Redis channel; guarded by the partition's mu.
	pendingUnsub map[string]int

	waitMu  sync.Mutex
	waiters map[string]chan struct{}
}

var tokenSeq atomic.Uint64

var errSessionEnded = errors.New("pub/sub connection closed")

func newSession(ps *redis.PubSub) *session {
	s := &session{ps: ps, done: make(chan struct{}), pendingUnsub: make(map[string]int), waiters: make(map[string]chan struct{})}
	s.lastSeen.Store(time.Now().UnixNano())
	return s
}

// read receives until the connection fails or closes, handing messages
// to the partition. It is the only caller of Receive.
func (s *session) read(p *partition) {
	defer close(s.done)
	ctx := context.Background()
	for {
		msg, err := s.ps.Receive(ctx)
		if err != nil {
			s.err = err
			return
		}
		s.lastSeen.Store(time.Now().UnixNano())
		switch m := msg.(type) {
		case *redis.Message:
			p.handle(m)
		case *redis.Pong:
			s.ack(m.Payload)
		case *redis.Subscription:
			if m.Kind == "unsubscribe" || m.Kind == "sunsubscribe" {
				p.unsubscribed(s, m.Channel)
			}
		}
	}
}

// handle decodes a message and delivers it to the hub, or drops it.
func (p *partition) handle(m *redis.Message) {
	ch, ok := strings.CutPrefix(m.Channel, p.prefix)
	if !ok || m.PayloadSlice != nil {
		p.b.malformed(m.Channel, errMalformed)
		return
	}
	msg, err := decode(ch, m.Payload)
	if err != nil {
		p.b.malformed(m.Channel, err)
		return
	}
	p.b.deliver(msg)
}

// confirm returns once Redis processed every command sent on the
// connection before it: it sends PING with a unique token and waits for
// the echo.
func (s *session) confirm(ctx context.Context) error {
	token := "vb:" + strconv.FormatUint(tokenSeq.Add(1), 10)
	ch := make(chan struct{})
	s.waitMu.Lock()
	s.waiters[token] = ch
	s.waitMu.Unlock()
	defer func() {
		s.waitMu.Lock()
		delete(s.waiters, token)
		s.waitMu.Unlock()
	}()
	if err := s.ps.Ping(ctx, token); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-s.done:
		return errSessionEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) ack(token string) {
	s.waitMu.Lock()
	ch := s.waiters[token]
	delete(s.waiters, token)
	s.waitMu.Unlock()
	if ch != nil {
		close(ch)
	}
}
