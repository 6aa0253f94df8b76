package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/velocitykode/velocity/internal/engine"
)

// The client registry is written behind. AddClient and RemoveClient
// change the node's local state and queue the change; one writer
// goroutine sends the queued changes in order, up to writeBatch per
// pipeline, as soon as they come. The queue holds maxPendingClients
// changes; a change that finds it full is not queued but its channel is
// marked for resynchronization, which writes the channel's whole local
// state once the queue has drained. A pipeline that fails marks its
// channels dirty: the heartbeat resynchronizes them once Redis answers
// (and everything after Redis lost its data).
//
// So Clients (and GetClients) on another node may miss a subscription,
// or still list one, for as long as the change waits to be written:
// normally one round trip to Redis; after a write failed or the queue
// overflowed, until the next heartbeat that reaches Redis
// (CleanupBound·2/9). The node that holds the subscription lists it at
// once. ToOthers does not depend on the registry: it excludes by socket
// id on delivery.
const (
	maxPendingClients = 1 << 16
	writeBatch        = 512
)

// clientChange is a queued registry write.
type clientChange struct {
	channel, socket string
	add             bool
}

// writeBehind is the registry's queue of changes.
type writeBehind struct {
	mu       sync.Mutex
	pending  []clientChange
	overflow map[string]struct{} // channels to resync once pending drained
	wake     engine.Kick
}

func (w *writeBehind) init() {
	w.overflow = make(map[string]struct{})
	w.wake = engine.NewKick()
}

func (w *writeBehind) push(c clientChange) {
	w.mu.Lock()
	if len(w.pending) < maxPendingClients {
		w.pending = append(w.pending, c)
	} else {
		w.overflow[c.channel] = struct{}{}
	}
	w.mu.Unlock()
	w.wake.Send()
}

// take returns up to writeBatch queued changes, or, with none queued, the
// overflowed channels.
func (w *writeBehind) take() ([]clientChange, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := min(len(w.pending), writeBatch); n > 0 {
		batch := append([]clientChange(nil), w.pending[:n]...)
		w.pending = w.pending[n:]
		if len(w.pending) == 0 {
			w.pending = nil
		}
		return batch, nil
	}
	chans := make([]string, 0, len(w.overflow))
	for ch := range w.overflow {
		chans = append(chans, ch)
	}
	clear(w.overflow)
	return nil, chans
}

// AddClient implements broker.ClientRegistry: it records socketID as a
// subscriber of channel held by this node, writing behind (see above); it
// never waits for Redis.
func (b *Broker) AddClient(_ context.Context, channel, socketID string) error {
	b.local.setClient(channel, socketID, true)
	b.writes.push(clientChange{channel: channel, socket: socketID, add: true})
	return nil
}

// RemoveClient implements broker.ClientRegistry, writing behind.
func (b *Broker) RemoveClient(_ context.Context, channel, socketID string) error {
	b.local.setClient(channel, socketID, false)
	b.writes.push(clientChange{channel: channel, socket: socketID})
	return nil
}

// startWriter starts the goroutine that sends the queued registry
// changes until the broker closes.
func (b *Broker) startWriter() { b.life.Drain(b.writes.wake, b.writeNext) }

// writeNext sends the next batch of queued changes, or resyncs the
// overflowed channels, and reports whether there was anything.
func (b *Broker) writeNext() bool {
	batch, resync := b.writes.take()
	if len(batch) == 0 && len(resync) == 0 {
		return false
	}
	if len(batch) > 0 {
		b.writeClients(batch)
	}
	for _, ch := range resync {
		ctx, cancel := b.life.Call(context.Background())
		_ = b.resync(ctx, ch) // marks ch dirty on failure
		cancel()
	}
	return true
}

// writeClients sends one batch of changes in one pipeline. A channel
// whose last local entry went is left to a resync, which removes it from
// the node's index in step with presence. Each change reports whether it
// occupied or vacated its channel for the whole cluster (clientScript).
func (b *Broker) writeClients(batch []clientChange) {
	ctx, cancel := b.life.Call(context.Background())
	defer cancel()
	cmds, err := b.pipeClients(ctx, batch, false)
	if isNoScript(err) {
		cmds, err = b.pipeClients(ctx, batch, true)
	}
	for i, c := range batch {
		if err != nil || !c.add && b.local.empty(c.channel) {
			b.local.markDirty(c.channel)
		}
		if err == nil {
			n, _ := cmds[i].Int()
			b.watch.Occupancy(c.channel, n)
		}
	}
	if err != nil {
		b.log.Warn("redisbroker: subscriber registry write failed, will resync", "changes", len(batch), "err", err)
	}
}

// pipeClients runs clientScript for every change of batch in one
// pipeline, with EVAL when eval is set (Redis lost its script cache).
func (b *Broker) pipeClients(ctx context.Context, batch []clientChange, eval bool) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(batch))
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		run := clientScript.EvalSha
		if eval {
			run = clientScript.Eval
		}
		for i, c := range batch {
			keys := []string{b.keys.clients(c.channel)}
			if c.add {
				p.SAdd(ctx, b.keys.index(b.node), c.channel)
				cmds[i] = run(ctx, p, keys, c.socket, b.node)
			} else {
				cmds[i] = run(ctx, p, keys, c.socket)
			}
		}
		return nil
	})
	if err == nil {
		return cmds, nil
	}
	for _, c := range cmds {
		if isNoScript(c.Err()) {
			return cmds, c.Err()
		}
	}
	return cmds, err
}

// Clients implements broker.ClientRegistry: the socket ids subscribed
// to channel on every live node, sorted: this node's exactly, the other
// nodes' as far as they have written them (see above). Subscribers of a
// node whose heartbeat expired are left out even before the reaper
// removed them.
func (b *Broker) Clients(ctx context.Context, channel string) ([]string, error) {
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	all, err := b.client.HGetAll(ctx, b.keys.clients(channel)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	alive, err := b.liveNodes(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	// This node's own subscribers come from its local state, which is
	// ahead of what it wrote behind.
	_, ids := b.local.snapshot(channel)
	for socket, node := range all {
		if node != b.node && alive[node] {
			ids = append(ids, socket)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// liveNodes checks the heartbeat of every node named in owners' values.
func (b *Broker) liveNodes(ctx context.Context, owners map[string]string) (map[string]bool, error) {
	alive := map[string]bool{b.node: true}
	cmds := make(map[string]*redis.IntCmd)
	pipe := b.client.Pipeline()
	for _, node := range owners {
		if _, ok := cmds[node]; !ok && node != b.node {
			cmds[node] = pipe.Exists(ctx, b.keys.heartbeat(node))
		}
	}
	if len(cmds) == 0 {
		return alive, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for node, c := range cmds {
		alive[node] = c.Val() == 1
	}
	return alive, nil
}
