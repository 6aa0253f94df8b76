package broadcast

import (
	"context"
	"strings"
)

// PendingBroadcast is a broadcast being described: channels, an optional
// socket to leave out and conditions. Emit sends it. Build one with
// Channel, Private or Presence; it is meant to be used once, by one
// goroutine.
type PendingBroadcast struct {
	b        *Broadcaster
	channels []string
	except   string
	conflate string
	skip     bool
	ctx      context.Context
}

func (b *Broadcaster) pending(names []string, prefix string) *PendingBroadcast {
	chans := make([]string, len(names))
	for i, n := range names {
		if prefix != "" && !strings.HasPrefix(n, prefix) {
			n = prefix + n
		}
		chans[i] = n
	}
	return &PendingBroadcast{b: b, channels: chans, ctx: context.Background()}
}

// ToOthers leaves out the connection with this socket id (typically the
// X-Socket-ID header of the request that caused the event). An empty id
// leaves out nobody.
func (p *PendingBroadcast) ToOthers(socketID string) *PendingBroadcast {
	p.except = socketID
	return p
}

// When makes the broadcast conditional: Emit does nothing unless every
// When was given true.
func (p *PendingBroadcast) When(cond bool) *PendingBroadcast {
	p.skip = p.skip || !cond
	return p
}

// Conflate gives the event a conflation key, for values where only the
// latest matters (a price per symbol, a gauge per metric). A connection
// that has fallen behind (over WEBSOCKET_MAX_QUEUE_BYTES queued) gets the
// newest event in the place of a queued one with the same channel and
// key, instead of one more queued event: a slow dashboard sees the
// latest value per key rather than being disconnected. Events without a
// key are never dropped or reordered. Keys are at most
// MaxConflateKeyLength bytes.
func (p *PendingBroadcast) Conflate(key string) *PendingBroadcast {
	p.conflate = key
	return p
}

// WithContext bounds the driver call by ctx (the Redis driver honours it).
func (p *PendingBroadcast) WithContext(ctx context.Context) *PendingBroadcast {
	if ctx != nil {
		p.ctx = ctx
	}
	return p
}

// Emit sends event with data, encoded once as JSON, to every channel. It
// returns an error wrapping ErrInvalidChannel, ErrReservedEvent,
// ErrInvalidEvent or ErrEncode for bad input, or the driver's error.
func (p *PendingBroadcast) Emit(event string, data interface{}) error {
	if p.skip {
		return nil
	}
	return p.b.emit(p.ctx, &Message{Channels: p.channels, Event: event, Except: p.except, Conflate: p.conflate}, data)
}
