package redisbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/engine"
)

// startLoops starts the heartbeat, which refreshes the node's heartbeat
// every third of its TTL, or at once after a pub/sub reconnection, and
// resynchronizes the node's entries when Redis lost them or a write
// failed; and the reaper, which looks for dead nodes, and for held
// presence departures nobody carried out (grace.go), every sixth of the
// cleanup bound.
func (b *Broker) startLoops() {
	b.life.Every(b.sched.Beat, b.kick, func() { _ = b.beatAndSync() })
	b.life.Every(b.sched.Reap, nil, func() {
		b.reap()
		b.sweepGrace()
	})
}

func (b *Broker) beatAndSync() error {
	ctx, cancel := b.life.Call(context.Background())
	lost, err := b.beat(ctx)
	cancel()
	b.health.Set("heartbeat", err)
	if err != nil {
		return err
	}
	var chans []string
	if lost || b.needFull.Swap(false) {
		ctx, cancel := b.life.Call(context.Background())
		indexed, err := b.client.SMembers(ctx, b.keys.index(b.node)).Result()
		cancel()
		if err != nil {
			b.needFull.Store(true)
			return fmt.Errorf("redisbroker: read node index: %w", err)
		}
		chans = union(b.local.channels(), indexed)
	}
	chans = union(chans, b.local.takeDirty())
	var firstErr error
	for _, ch := range chans {
		ctx, cancel := b.life.Call(context.Background())
		err := b.resync(ctx, ch)
		cancel()
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// beat refreshes the heartbeat. lost reports that Redis forgot this node
// (restart, or the reaper took it for dead) so that everything must be
// written again.
func (b *Broker) beat(ctx context.Context) (lost bool, err error) {
	pipe := b.client.Pipeline()
	get := pipe.Do(ctx, "SET", b.keys.heartbeat(b.node), b.node, "PX", b.sched.TTL.Milliseconds(), "GET")
	pipe.SAdd(ctx, b.keys.nodes(), b.node)
	indexed := pipe.Exists(ctx, b.keys.index(b.node))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("heartbeat: %w", err)
	}
	lost = errors.Is(get.Err(), redis.Nil) && b.beaten || indexed.Val() == 0 && b.local.any()
	if lost {
		b.log.Warn("redisbroker: redis lost this node's state, registering it again", "node", b.node)
	}
	b.beaten = true
	return lost, nil
}

// resync makes Redis hold exactly this node's local entries of channel
// and announces the members that appeared or vanished on the way.
func (b *Broker) resync(ctx context.Context, channel string) error {
	unlock := b.local.lock(channel)
	members, clients := b.local.snapshot(channel)
	res, err := b.syncNode(ctx, b.node, channel, members, clients)
	unlock()
	if err != nil {
		b.local.markDirty(channel)
		return fmt.Errorf("%w: resync %q: %v", ErrUnavailable, channel, err)
	}
	b.announce(ctx, channel, res.Sync)
	b.watch.Occupancy(channel, res.occupancy)
	return nil
}

// syncResult is what a sync changed in a channel's presence and
// occupancy.
type syncResult struct {
	engine.Sync
	// occupancy is 1 when the sync occupied the channel for the
	// cluster, -1 when it vacated it, else 0.
	occupancy int
}

// syncNode runs syncScript for node's entries in channel and keeps the
// node's index in step.
func (b *Broker) syncNode(ctx context.Context, node, channel string, members map[string]broadcast.Member, clients []string) (syncResult, error) {
	args := make([]any, 0, 2+3*len(members)+len(clients))
	args = append(args, node, len(members))
	for socket, m := range members {
		js, _ := json.Marshal(m)
		args = append(args, socket, m.UserID, js)
	}
	for _, s := range clients {
		args = append(args, s)
	}
	keep := len(members)+len(clients) > 0
	cmd, err := b.runScript(ctx, syncScript, b.keys.channelKeys(channel), args, func(pipe redis.Pipeliner) {
		if keep {
			pipe.SAdd(ctx, b.keys.index(node), channel)
		}
	})
	if err != nil {
		return syncResult{}, err
	}
	if !keep {
		if err := b.client.SRem(ctx, b.keys.index(node), channel).Err(); err != nil {
			return syncResult{}, err
		}
	}
	res, _ := cmd.Val().([]any)
	if len(res) != 5 {
		return syncResult{}, fmt.Errorf("sync %q: unexpected reply %v", channel, cmd.Val())
	}
	var removed []string
	r, _ := res[0].([]any)
	for _, u := range r {
		if s, ok := u.(string); ok {
			removed = append(removed, s)
		}
	}
	var added [][2]string
	a, _ := res[1].([]any)
	for i := 0; i+1 < len(a); i += 2 {
		s, _ := a[i].(string)
		js, _ := a[i+1].(string)
		added = append(added, [2]string{s, js})
	}
	v, _ := res[2].(int64)
	e, _ := res[3].(int64)
	o, _ := res[4].(int64)
	return syncResult{Sync: engine.Sync{Removed: removed, Added: added, Version: uint64(v), Epoch: uint64(e)}, occupancy: int(o)}, nil
}

// announce publishes member_removed and member_added for a sync's result
// and reports them to the Watcher.
func (b *Broker) announce(ctx context.Context, channel string, s engine.Sync) {
	b.watch.Announce(ctx, channel, s, b.publishEvent)
}

func (b *Broker) publishEvent(ctx context.Context, m *broker.Envelope) {
	if err := b.Publish(ctx, m); err != nil {
		b.log.Warn("redisbroker: presence event lost", "event", m.Event, "channel", m.Channels[0], "err", err)
	}
}

// reap removes the entries of every registered node whose heartbeat
// expired. Several survivors may reap one node at once: the sync script
// is atomic, so each member_removed is published once.
func (b *Broker) reap() {
	ctx, cancel := b.life.Call(context.Background())
	defer cancel()
	nodes, err := b.client.SMembers(ctx, b.keys.nodes()).Result()
	if err != nil {
		return // the heartbeat reports the outage
	}
	pipe := b.client.Pipeline()
	alive := make(map[string]*redis.IntCmd, len(nodes))
	for _, n := range nodes {
		if n != b.node {
			alive[n] = pipe.Exists(ctx, b.keys.heartbeat(n))
		}
	}
	if len(alive) == 0 {
		return
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return
	}
	for n, c := range alive {
		if c.Val() == 0 {
			rctx, rcancel := context.WithTimeout(context.Background(), 4*b.opts.Timeout)
			if err := b.cleanupNode(rctx, n, nil, false); err != nil {
				b.log.Warn("redisbroker: reaping dead node failed, will retry", "node", n, "err", err)
			}
			rcancel()
		}
	}
}

// cleanupNode removes every entry of node (a dead one, or this one when
// it closes), announces the members that vanished and deregisters it.
func (b *Broker) cleanupNode(ctx context.Context, node string, extra []string, self bool) error {
	indexed, err := b.client.SMembers(ctx, b.keys.index(node)).Result()
	if err != nil {
		return fmt.Errorf("%w: clean up node %s: %v", ErrUnavailable, node, err)
	}
	var firstErr error
	removedTotal := 0
	for _, ch := range union(indexed, extra) {
		res, err := b.syncNode(ctx, node, ch, nil, nil)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: clean up node %s in %q: %v", ErrUnavailable, node, ch, err)
			}
			continue
		}
		removedTotal += len(res.Removed)
		b.announce(ctx, ch, engine.Sync{Removed: res.Removed, Version: res.Version})
		b.watch.Occupancy(ch, res.occupancy)
	}
	if firstErr != nil {
		return firstErr
	}
	_, err = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, b.keys.index(node))
		p.SRem(ctx, b.keys.nodes(), node)
		if self {
			p.Del(ctx, b.keys.heartbeat(node))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: deregister node %s: %v", ErrUnavailable, node, err)
	}
	if !self {
		b.log.Info("redisbroker: removed a dead node's members", "node", node, "members_removed", removedTotal)
	}
	return nil
}

func union(lists ...[]string) []string {
	seen := make(map[string]struct{})
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if _, ok := seen[s]; !ok {
				seen[s] = struct{}{}
				out = append(out, s)
			}
		}
	}
	return out
}
