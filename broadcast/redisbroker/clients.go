package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// AddClient implements broker.ClientRegistry: it records socketID as a
// subscriber of channel held by this node. A failed write is retried by
// the heartbeat until Redis has it.
func (b *Broker) AddClient(ctx context.Context, channel, socketID string) error {
	mu := b.local.lock(channel)
	mu.Lock()
	defer mu.Unlock()
	b.local.setClient(channel, socketID, true)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, b.keys.index(b.node), channel)
		p.HSet(ctx, b.keys.clients(channel), socketID, b.node)
		return nil
	})
	if err != nil {
		b.local.markDirty(channel)
		return fmt.Errorf("%w: add subscriber %s of %q: %v", ErrUnavailable, socketID, channel, err)
	}
	return nil
}

// RemoveClient implements broker.ClientRegistry.
func (b *Broker) RemoveClient(ctx context.Context, channel, socketID string) error {
	mu := b.local.lock(channel)
	mu.Lock()
	defer mu.Unlock()
	b.local.setClient(channel, socketID, false)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, b.keys.clients(channel), socketID)
		if b.local.empty(channel) {
			p.SRem(ctx, b.keys.index(b.node), channel)
		}
		return nil
	})
	if err != nil {
		b.local.markDirty(channel)
		return fmt.Errorf("%w: remove subscriber %s of %q: %v", ErrUnavailable, socketID, channel, err)
	}
	return nil
}

// Clients implements broker.ClientRegistry: the socket ids subscribed
// to channel on every live node, sorted. Subscribers of a node whose
// heartbeat expired are left out even before the reaper removed them.
func (b *Broker) Clients(ctx context.Context, channel string) ([]string, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	all, err := b.client.HGetAll(ctx, b.keys.clients(channel)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	alive, err := b.liveNodes(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	ids := make([]string, 0, len(all))
	for socket, node := range all {
		if alive[node] {
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
