package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/engine"
)

// Presence is the cluster-wide broker.PresenceStore of a Broker: the
// members of each presence channel, per user id, with the connections
// that hold them and the node of each (presencedoc.go). Get it from
// Broker.Presence.
type Presence struct {
	b *Broker
}

var (
	_ broker.PresenceStore    = (*Presence)(nil)
	_ broker.PresenceLimiter  = (*Presence)(nil)
	_ broker.GracefulPresence = (*Presence)(nil)
)

// Presence returns the broker's presence store, for
// websocket.WithPresenceStore.
func (b *Broker) Presence() *Presence { return b.presence }

// Join implements broker.PresenceStore. first is true when socketID is
// m.UserID's first connection to channel on any node.
func (p *Presence) Join(ctx context.Context, channel, socketID string, m broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	return p.JoinLimited(ctx, channel, socketID, m, 0)
}

// JoinLimited implements broker.PresenceLimiter: Join, refused with
// broker.ErrPresenceFull when m.UserID is not a member and channel has
// max members on the whole cluster (max 0: no cap). The count and the
// join are one compare-and-set. A join that would take the channel's
// state (presencedoc.go) past a sixteenth below the server's max_payload
// is refused with broker.ErrPresenceFull too, a member's new connection
// as well.
func (p *Presence) JoinLimited(ctx context.Context, channel, socketID string, m broadcast.Member, max int) (bool, []broadcast.Member, uint64, error) {
	b := p.b
	js, err := json.Marshal(m)
	if err != nil {
		return false, nil, 0, fmt.Errorf("natsbroker: presence join %q: %w", channel, err)
	}
	if err := b.ready(); err != nil {
		return false, nil, 0, fmt.Errorf("%w: presence join %q: %v", ErrUnavailable, channel, err)
	}
	defer b.reg.lock(channel)()
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	if err := b.ensureIndex(ctx, channel); err != nil {
		return false, nil, 0, fmt.Errorf("%w: presence join %q: %v", ErrUnavailable, channel, err)
	}
	var first bool
	full := 0
	limit := joinLimit(b.nc.MaxPayload())
	d, err := editPresenceWithin(ctx, b.reg.kv().presence, channel, limit, func(d *presenceDoc) error {
		first, full = false, 0
		_, held := d.Held[m.UserID]
		if _, member := d.Members[m.UserID]; max > 0 && !member && len(d.Members) >= max {
			full = len(d.Members)
			return errNoChange
		}
		if _, ok := d.Conns[socketID]; !ok {
			first = d.conns(m.UserID) == 0 && !held
			d.Conns[socketID] = presenceConn{Node: b.node, User: m.UserID}
		}
		delete(d.Held, m.UserID) // a rejoin cancels a held departure
		d.Members[m.UserID] = js // the newest connection's info wins
		if first || d.V == 0 {
			d.bump()
		}
		return nil
	})
	if errors.Is(err, errPresenceSize) {
		b.dropIndexIfIdle(ctx, channel)
		return false, nil, 0, fmt.Errorf("%w: %q: its state would pass %d bytes (NATS max_payload %d): %v",
			broker.ErrPresenceFull, channel, limit, b.nc.MaxPayload(), err)
	}
	if err != nil {
		b.reg.markPresenceDirty(channel) // the write may have landed
		return false, nil, 0, fmt.Errorf("%w: presence join %q: %v", ErrUnavailable, channel, err)
	}
	if full > 0 {
		return false, nil, 0, fmt.Errorf("%w: %q has %d members", broker.ErrPresenceFull, channel, full)
	}
	b.reg.setMember(channel, socketID, &m)
	return first, d.members(), d.V, nil
}

// Leave implements broker.PresenceStore. last is true when socketID was
// its user's last connection to channel on any node.
func (p *Presence) Leave(ctx context.Context, channel, socketID, _ string) (bool, uint64, error) {
	b := p.b
	if err := b.ready(); err != nil {
		return false, 0, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	defer b.reg.lock(channel)()
	b.reg.setMember(channel, socketID, nil)
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	var last bool
	d, err := editPresence(ctx, b.reg.kv().presence, channel, func(d *presenceDoc) error {
		last = false
		c, ok := d.Conns[socketID]
		if !ok {
			return errNoChange
		}
		delete(d.Conns, socketID)
		if d.conns(c.User) > 0 {
			return nil
		}
		if _, member := d.Members[c.User]; member {
			delete(d.Members, c.User)
			d.bump()
			last = true
		}
		return nil
	})
	if err != nil {
		b.reg.markPresenceDirty(channel)
		return false, 0, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	b.dropIndexIfIdle(ctx, channel)
	if !last {
		return false, 0, nil
	}
	return true, d.V, nil
}

// Members implements broker.PresenceStore.
func (p *Presence) Members(ctx context.Context, channel string) ([]broadcast.Member, error) {
	b := p.b
	if err := b.ready(); err != nil {
		return nil, fmt.Errorf("%w: presence members of %q: %v", ErrUnavailable, channel, err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	d, _, err := readPresence(ctx, b.reg.kv().presence, presenceKey(channelToken(channel)))
	if err != nil {
		return nil, fmt.Errorf("%w: presence members of %q: %v", ErrUnavailable, channel, err)
	}
	return d.members(), nil
}

// ready returns nil when the broker can reach its buckets.
func (b *Broker) ready() error {
	if b.life.Stopped() {
		return broker.ErrClosed
	}
	if !b.reg.ready() {
		return fmt.Errorf("broker not started")
	}
	return b.connected()
}

// syncPresence makes channel's state hold exactly node's connections of
// local (none for a dead or closing node) and returns the members that
// appeared or vanished on the way.
func (b *Broker) syncPresence(ctx context.Context, node, channel string, local map[string]broadcast.Member) (engine.Sync, error) {
	var res engine.Sync
	d, err := editPresence(ctx, b.reg.kv().presence, channel, func(d *presenceDoc) error {
		res = engine.Sync{}
		changed := false
		touched := map[string]struct{}{}
		for s, c := range d.Conns {
			if _, keep := local[s]; c.Node == node && !keep {
				delete(d.Conns, s)
				touched[c.User] = struct{}{}
				changed = true
			}
		}
		for s, m := range local {
			if _, ok := d.Conns[s]; ok {
				continue
			}
			d.Conns[s] = presenceConn{Node: node, User: m.UserID}
			delete(d.Held, m.UserID)
			changed = true
			if _, member := d.Members[m.UserID]; !member {
				js, _ := json.Marshal(m)
				d.Members[m.UserID] = js
				res.Added = append(res.Added, [2]string{s, string(js)})
			}
		}
		for u := range touched {
			if _, held := d.Held[u]; d.conns(u) == 0 && !held {
				if _, member := d.Members[u]; member {
					delete(d.Members, u)
					res.Removed = append(res.Removed, u)
				}
			}
		}
		if !changed {
			return errNoChange
		}
		if len(res.Removed)+len(res.Added) > 0 {
			d.bump()
		}
		return nil
	})
	if err != nil {
		return engine.Sync{}, err
	}
	res.Version, res.Epoch = d.V, d.E
	return res, nil
}

// announce publishes member_removed and member_added for a sync's result
// and reports them to the Watcher.
func (b *Broker) announce(ctx context.Context, channel string, s engine.Sync) {
	b.watch.Announce(ctx, channel, s, b.publishEvent)
}

func (b *Broker) publishEvent(ctx context.Context, e *broker.Envelope) {
	if err := b.publish(ctx, e); err != nil {
		b.log.Warn("natsbroker: presence event lost", "event", e.Event, "channel", e.Channels[0], "err", err)
	}
}

// resyncPresence makes NATS hold this node's local connections of
// channel and announces the members that appeared or vanished.
func (b *Broker) resyncPresence(channel string) error {
	unlock := b.reg.lock(channel)
	ctx, cancel := b.life.Call(context.Background())
	defer cancel()
	local := b.reg.members(channel)
	var err error
	if len(local) > 0 {
		err = b.ensureIndex(ctx, channel)
	}
	var res engine.Sync
	if err == nil {
		res, err = b.syncPresence(ctx, b.node, channel, local)
	}
	if err == nil && len(local) == 0 {
		b.dropIndexIfIdle(ctx, channel)
	}
	unlock()
	if err != nil {
		b.reg.markPresenceDirty(channel)
		return fmt.Errorf("%w: resync presence of %q: %v", ErrUnavailable, channel, err)
	}
	b.announce(ctx, channel, res)
	return nil
}
