package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/velocitykode/velocity/internal/engine"
)

// Held departures (broker.GracefulPresence).
//
// A departure held for a grace period lives in the channel's presence
// value, not in the node that held it: the user stays a member, its
// connections are gone, and Held maps it to its deadline. A join from any
// node deletes the entry in the same compare-and-set, so the rejoin and
// the cancellation are one step. ExpireGrace removes the member only if
// Held still maps it to the very deadline it was given, and removes that
// entry in the same step: of all the nodes that try, exactly one carries
// a departure out.
//
// So that a departure outlives its holder (SIGKILL, lost host), each
// hold also has a key h.TOKEN.UTOKEN whose value is its deadline,
// written before the hold. Every node's reaper sweeps these keys for
// departures overdue by more than its period, carries them out and
// publishes their member_removed. A key is deleted once its departure was
// carried out, cancelled or replaced, only while it still holds the same
// deadline, so that the key of a newer departure of the same user
// survives.

// graceSweepBatch bounds the overdue departures one sweep handles; the
// next sweep takes the rest.
const graceSweepBatch = 256

// LeaveGrace implements broker.GracefulPresence: Leave, except that the
// departure of userID's last connection on the whole cluster is held
// until the deadline until, cancelled by the user's next join on any
// node.
func (p *Presence) LeaveGrace(ctx context.Context, channel, socketID, userID string, until time.Time) (bool, error) {
	b := p.b
	if err := b.ready(); err != nil {
		return false, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	defer b.reg.lock(channel)()
	b.reg.setMember(channel, socketID, nil)
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	fail := func(err error) (bool, error) {
		b.reg.markPresenceDirty(channel)
		return false, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	at := until.UnixMicro()
	kv := b.reg.kv().presence
	hk := heldKey(channelToken(channel), userID)
	if _, err := kv.Put(ctx, hk, []byte(strconv.FormatInt(at, 10))); err != nil {
		return fail(err)
	}
	var held bool
	_, err := editPresence(ctx, kv, channel, func(d *presenceDoc) error {
		held = false
		c, ok := d.Conns[socketID]
		if !ok {
			return errNoChange
		}
		delete(d.Conns, socketID)
		if d.conns(c.User) > 0 {
			return nil
		}
		if _, member := d.Members[c.User]; member && c.User == userID {
			d.Held[c.User] = at
			held = true
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if !held {
		dropHeld(ctx, kv, hk, at)
	}
	b.dropIndexIfIdle(ctx, channel)
	return held, nil
}

// ExpireGrace implements broker.GracefulPresence: one compare-and-set
// removes the member if its departure with the deadline until is still
// held; then the departure's key is deleted.
func (p *Presence) ExpireGrace(ctx context.Context, channel, userID string, until time.Time) (bool, uint64, error) {
	b := p.b
	if err := b.ready(); err != nil {
		return false, 0, fmt.Errorf("%w: presence expire %q of %q: %v", ErrUnavailable, userID, channel, err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	at := until.UnixMicro()
	kv := b.reg.kv().presence
	var removed bool
	d, err := editPresence(ctx, kv, channel, func(d *presenceDoc) error {
		removed = false
		if h, ok := d.Held[userID]; !ok || h != at {
			return errNoChange
		}
		delete(d.Held, userID)
		if _, member := d.Members[userID]; member && d.conns(userID) == 0 {
			delete(d.Members, userID)
			d.bump()
			removed = true
		}
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("%w: presence expire %q of %q: %v", ErrUnavailable, userID, channel, err)
	}
	// The departure is done with; a failure here leaves a key that a
	// later sweep deletes.
	dropHeld(ctx, kv, heldKey(channelToken(channel), userID), at)
	if !removed {
		return false, 0, nil
	}
	return true, d.V, nil
}

// dropHeld deletes a departure's key if it still holds the deadline at.
func dropHeld(ctx context.Context, kv jetstream.KeyValue, key string, at int64) {
	e, err := kv.Get(ctx, key)
	if err != nil || string(e.Value()) != strconv.FormatInt(at, 10) {
		return
	}
	_ = kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
}

// sweepGrace carries out the held departures overdue by more than a
// reaper period, whose holder did not (it died, or lost NATS), and
// publishes their member_removed. ExpireGrace decides: a departure that
// its holder or another sweeper carries out at the same time is
// announced once.
func (b *Broker) sweepGrace() {
	if b.connected() != nil {
		return
	}
	kv := b.reg.kv().presence
	ctx, cancel := b.life.Call(context.Background())
	keys, err := listKeys(ctx, kv, "h.*.*")
	cancel()
	if err != nil {
		return // the heartbeat reports the outage
	}
	cutoff := time.Now().Add(-b.sched.Reap).UnixMicro()
	done := 0
	for _, k := range keys {
		if b.life.Stopped() || done >= graceSweepBatch {
			return
		}
		channel, userID, err := parseHeldKey(k)
		ctx, cancel := b.life.Call(context.Background())
		e, gerr := kv.Get(ctx, k)
		cancel()
		if gerr != nil {
			continue
		}
		at, perr := strconv.ParseInt(string(e.Value()), 10, 64)
		if err != nil || perr != nil {
			ctx, cancel := b.life.Call(context.Background())
			_ = kv.Delete(ctx, k, jetstream.LastRevision(e.Revision()))
			cancel()
			continue
		}
		if at > cutoff {
			continue
		}
		done++
		removed, version, err := b.presence.ExpireGrace(context.Background(), channel, userID, time.UnixMicro(at))
		if err != nil {
			b.log.Warn("natsbroker: expiring a held presence departure failed, will retry", "channel", channel, "err", err)
			return
		}
		if removed {
			ctx, cancel := b.life.Call(context.Background())
			b.announce(ctx, channel, engine.Sync{Removed: []string{userID}, Version: version})
			cancel()
			b.log.Info("natsbroker: removed a member whose departure its node did not carry out", "channel", channel)
		}
	}
}

// parseHeldKey returns the channel and user of an h. key.
func parseHeldKey(key string) (channel, user string, err error) {
	parts := strings.Split(key, ".")
	if len(parts) != 3 || parts[0] != "h" {
		return "", "", errors.New("natsbroker: not a held departure key")
	}
	if channel, err = tokenChannel(parts[1]); err != nil {
		return "", "", err
	}
	if user, err = tokenChannel(parts[2]); err != nil {
		return "", "", err
	}
	return channel, user, nil
}
