package engine

import (
	"context"
	"encoding/json"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Watch passes a broker's changes to its broker.Watcher's function. The
// function is set before the broker starts, so reading it needs no lock.
type Watch struct {
	fn func(broker.Change)
}

// Set makes fn receive the changes (nil: none). Call it before the
// broker starts.
func (w *Watch) Set(fn func(broker.Change)) { w.fn = fn }

// Report passes c on, when a function is set.
func (w *Watch) Report(c broker.Change) {
	if w.fn != nil {
		w.fn(c)
	}
}

// Occupancy reports what a registry write did to channel's occupancy: 1
// occupied it, -1 vacated it, 0 neither.
func (w *Watch) Occupancy(channel string, n int) {
	switch n {
	case 1:
		w.Report(broker.Change{Kind: broker.ChannelOccupied, Channel: channel})
	case -1:
		w.Report(broker.Change{Kind: broker.ChannelVacated, Channel: channel})
	}
}

// Sync is what a write changed in a channel's presence.
type Sync struct {
	Removed []string    // user ids
	Added   [][2]string // {socket, member JSON}
	Version uint64      // presence version after the changes
	Epoch   uint64      // epoch of the presence state
}

// Announce publishes member_removed and member_added for s through
// publish and reports them.
func (w *Watch) Announce(ctx context.Context, channel string, s Sync, publish func(context.Context, *broker.Envelope)) {
	for _, u := range s.Removed {
		publish(ctx, broker.NewMemberRemoved(channel, u, s.Version))
		w.Report(broker.Change{Kind: broker.MemberRemoved, Channel: channel, Member: broadcast.Member{UserID: u}})
	}
	for _, a := range s.Added {
		// A member written again after the server lost the state may be
		// one that subscribers of an earlier epoch already know.
		e := broker.New(channel, broker.EventMemberAdded, json.RawMessage(a[1]))
		e.Except, e.Version, e.Epoch = a[0], s.Version, s.Epoch
		publish(ctx, e)
		var m broadcast.Member
		if json.Unmarshal([]byte(a[1]), &m) == nil {
			w.Report(broker.Change{Kind: broker.MemberAdded, Channel: channel, Member: m})
		}
	}
}
