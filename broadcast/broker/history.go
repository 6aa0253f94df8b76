package broker

import (
	"context"
	"errors"
	"time"
)

// Position is a publication's place in its channel's stream (see
// broadcast.StreamPosition). The zero Position means "no history".
type Position struct {
	Offset uint64
	Epoch  string
}

// Retention is what a channel with history keeps: at most Size
// publications, each for at most TTL.
type Retention struct {
	Size int
	TTL  time.Duration
}

// HistoryQuery selects publications of one channel's stream.
type HistoryQuery struct {
	// Retention is the channel's: a store drops what falls outside it.
	Retention Retention
	// Recover asks for the publications with an offset above After (a
	// recovery), oldest first; otherwise the newest ones are returned.
	Recover bool
	After   uint64
	// Limit caps the publications returned (the newest ones, or the
	// oldest after After when recovering); 0 or above Size means Size,
	// negative none (only the position is read).
	Limit int
}

// HistoryResult is a read of a channel's stream: its current position and
// the selected publications, oldest first, each with its Position set.
type HistoryResult struct {
	Position     Position
	Publications []*Envelope
	// Ages holds how long ago each publication was published, by the
	// store's clock.
	Ages []time.Duration
}

// ErrNoHistoryStore is returned by a broker that keeps no history when
// an envelope asks for it.
var ErrNoHistoryStore = errors.New("broker: this broker keeps no channel history")

// Historian is implemented by brokers that keep channel history.
//
// The contract, which brokertest.RunHistory checks:
//
//   - Publish of an envelope with Retention set, which then names exactly
//     one channel, assigns it the channel's next offset (the last plus
//     one, cluster-wide, starting at 1), stores it within the retention,
//     and delivers it with Position set, on every node, in offset order.
//     Publishing and the offset assignment are one step: no node sees
//     offset n+1 before n, and no offset is skipped.
//   - A channel's epoch is fixed while its history lives and changes when
//     the history is lost (the store restarted empty, the history expired
//     as a whole): offsets of another epoch mean nothing in this one.
//   - History returns the channel's position and publications as q asks,
//     with every field as published. A channel without stored history
//     (never published to, or lost) has the zero Position, and reading it
//     stores nothing; its next publication starts an epoch at offset 1.
//   - Publications older than the retention's TTL, or beyond its Size,
//     are never returned.
type Historian interface {
	History(ctx context.Context, channel string, q HistoryQuery) (HistoryResult, error)
}
