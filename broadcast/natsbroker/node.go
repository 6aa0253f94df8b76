package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/engine"
)

// startLoops starts the heartbeat, which refreshes the node's heartbeat
// every third of its TTL, or at once after a reconnection, and has the
// registry written again when NATS lost it or a write failed; and the
// reaper, which looks for dead nodes, and for held presence departures
// nobody carried out (grace.go), every sixth of the cleanup bound.
func (b *Broker) startLoops() {
	b.life.Every(b.sched.Beat, b.reg.kick, func() { _ = b.beatAndSync() })
	b.life.Every(b.sched.Reap, nil, func() {
		b.reap()
		b.sweepGrace()
	})
}

func (b *Broker) beatAndSync() error {
	err := b.connected()
	if err == nil {
		err = b.beat()
	}
	b.health.Set("heartbeat", err)
	if err != nil {
		return fmt.Errorf("%w: heartbeat: %v", ErrUnavailable, err)
	}
	var indexed []string
	full := b.reg.needFull.Swap(false)
	if full {
		ctx, cancel := b.life.Call(context.Background())
		indexed, err = indexedChannels(ctx, b.reg.kv().nodes, b.node)
		cancel()
		if err != nil {
			b.reg.needFull.Store(true)
			return fmt.Errorf("%w: read node index: %v", ErrUnavailable, err)
		}
	}
	var firstErr error
	for _, ch := range b.reg.requeue(full, indexed) {
		if err := b.resyncPresence(ch); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// beat refreshes the heartbeat with a compare-and-set on its last
// revision and checks the node's registration. Either missing means that
// NATS lost the node's state or a survivor took the node for dead and
// reaped it: the node registers again and everything is written again.
// When NATS lost the buckets themselves, they are created again. Each
// call has a deadline of its own.
func (b *Broker) beat() error {
	kv := b.reg.kv()
	lost := false
	var rev uint64
	var err error
	if b.reg.beatRev != 0 {
		ctx, cancel := b.life.Call(context.Background())
		rev, err = kv.beats.Update(ctx, b.node, []byte(b.node), b.reg.beatRev)
		cancel()
		lost = err != nil && isConflict(err)
	}
	if b.reg.beatRev == 0 || lost {
		ctx, cancel := b.life.Call(context.Background())
		rev, err = kv.beats.Put(ctx, b.node, []byte(b.node))
		cancel()
	}
	if err != nil && b.connected() == nil {
		// A bucket may be gone (NATS restarted without its JetStream
		// store): the write then finds no stream, and nats.go retries
		// until the deadline.
		ctx, cancel := b.life.Call(context.Background())
		created, oerr := b.reg.open(ctx, b)
		cancel()
		if oerr == nil && created {
			ctx, cancel := b.life.Call(context.Background())
			kv, lost = b.reg.kv(), true
			rev, err = kv.beats.Put(ctx, b.node, []byte(b.node))
			cancel()
		}
	}
	if err != nil {
		return err
	}
	first := b.reg.beatRev == 0
	b.reg.beatRev = rev
	ctx, cancel := b.life.Call(context.Background())
	defer cancel()
	if !first && !lost {
		_, err := kv.nodes.Get(ctx, b.node)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			lost = true
		case err != nil:
			return err
		}
	}
	if first || lost {
		if _, err := kv.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	if lost {
		b.log.Warn("natsbroker: NATS lost this node's state, registering it again", "node", b.node)
		b.reg.needFull.Store(true)
	}
	return nil
}

// alive reports whether node's heartbeat is current.
func (b *Broker) alive(ctx context.Context, node string) (bool, error) {
	if node == b.node {
		return true, nil
	}
	_, err := b.reg.kv().beats.Get(ctx, node)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// reap removes the entries of every registered node whose heartbeat
// expired. Several survivors may reap one node at once: each change of a
// channel's o. key is a compare-and-set, so each vacated channel is
// reported once.
func (b *Broker) reap() {
	if b.connected() != nil {
		return // the heartbeat reports the outage
	}
	ctx, cancel := b.life.Call(context.Background())
	nodes, err := listKeys(ctx, b.reg.kv().nodes, "*")
	var dead []string
	for _, n := range nodes {
		if n == b.node || err != nil {
			continue
		}
		var alive bool
		if alive, err = b.alive(ctx, n); err == nil && !alive {
			dead = append(dead, n)
		}
	}
	cancel()
	for _, n := range dead {
		rctx, rcancel := context.WithTimeout(b.life.Context(), 4*b.opts.Timeout)
		if err := b.cleanupNode(rctx, n, nil); err != nil {
			b.log.Warn("natsbroker: reaping dead node failed, will retry", "node", n, "err", err)
		} else {
			b.log.Info("natsbroker: removed a dead node's subscribers", "node", n)
		}
		rcancel()
	}
}

// cleanupNode removes every entry of node (a dead one, or this one when
// it closes, with extra its channels) and deregisters it. It never waits
// longer than ctx.
func (b *Broker) cleanupNode(ctx context.Context, node string, extra []string) error {
	op := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, b.opts.Timeout) }
	octx, cancel := op()
	indexed, err := indexedChannels(octx, b.reg.kv().nodes, node)
	cancel()
	if err != nil {
		return fmt.Errorf("%w: clean up node %s: %v", ErrUnavailable, node, err)
	}
	seen := make(map[string]struct{}, len(indexed)+len(extra))
	for _, ch := range append(indexed, extra...) {
		if _, dup := seen[ch]; dup {
			continue
		}
		seen[ch] = struct{}{}
		octx, cancel := op()
		err := b.removeClients(octx, node, ch)
		var res engine.Sync
		if err == nil {
			res, err = b.syncPresence(octx, node, ch, nil)
		}
		if err == nil {
			b.announce(octx, ch, res)
			err = deleteKey(octx, b.reg.kv().nodes, indexKey(node, channelToken(ch)))
		}
		cancel()
		if err != nil {
			return fmt.Errorf("%w: clean up node %s in %q: %v", ErrUnavailable, node, ch, err)
		}
	}
	octx, cancel = op()
	defer cancel()
	if err := deleteKey(octx, b.reg.kv().nodes, node); err != nil {
		return fmt.Errorf("%w: deregister node %s: %v", ErrUnavailable, node, err)
	}
	if node == b.node {
		_ = deleteKey(octx, b.reg.kv().beats, node)
	}
	return nil
}

// Watch implements broker.Watcher. A channel's occupancy changes where
// the registry writes them: the node whose write took the channel's o.
// key from no node to some reports it occupied, the one whose write
// emptied it reports it vacated, so each change is reported once for the
// cluster, one registry write after the subscription change (normally a
// few round trips; after a failed write, the next heartbeat that reaches
// NATS). A channel whose last subscribers were on a node that died is
// reported vacated by the node that reaps it, within the cleanup bound.
//
// Members reported are those this node announced itself: a dead node's
// members, departures whose holder died, members written again after
// NATS lost them.
func (b *Broker) Watch(fn func(broker.Change)) {
	if b.started.Load() {
		panic("natsbroker: Watch after Start")
	}
	b.watch.Set(fn)
}
