package natsbroker

import (
	"context"
	"fmt"
	"sort"
)

// The client registry is written behind. AddClient and RemoveClient
// change the node's local state and queue the channel; one writer
// goroutine writes each queued channel's local state (kv.go; of its
// subscribers, the chunks that changed: sockets.go), in the order the
// channels were queued. A channel queued again before its
// turn keeps its place, so the queue holds each channel once: it is
// bounded by the channels the node's subscribers use. A write that fails
// leaves the channel to the next heartbeat that reaches NATS, which
// queues it again (and every channel after NATS lost the buckets or took
// this node for dead).
//
// So Clients (and GetClients) on another node may miss a subscription, or
// still list one, for as long as the channel waits to be written:
// normally a few round trips to NATS; after a failed write, until the
// next heartbeat that reaches NATS (CleanupBound·2/9). The node that
// holds the subscription lists it at once. ToOthers does not depend on
// the registry: it excludes by socket id on delivery.

// ensureIndex writes channel into the node's index unless it is there:
// before any entry of the node in channel, so that survivors find it.
// The caller holds channel's lock.
func (b *Broker) ensureIndex(ctx context.Context, channel string) error {
	if b.reg.isIndexed(channel) {
		return nil
	}
	if _, err := b.reg.kv().nodes.Put(ctx, indexKey(b.node, channelToken(channel)), []byte{'1'}); err != nil {
		return err
	}
	b.reg.setIndexed(channel, true)
	return nil
}

// dropIndexIfIdle removes channel from the node's index once the node
// has no entry left in it. The caller holds channel's lock; a failure
// leaves an entry that only costs the reaper a look.
func (b *Broker) dropIndexIfIdle(ctx context.Context, channel string) {
	if !b.reg.idle(channel) || !b.reg.isIndexed(channel) {
		return
	}
	if deleteKey(ctx, b.reg.kv().nodes, indexKey(b.node, channelToken(channel))) == nil {
		b.reg.setIndexed(channel, false)
	}
}

// AddClient implements broker.ClientRegistry: it records socketID as a
// subscriber of channel held by this node, writing behind (see above); it
// never waits for NATS.
func (b *Broker) AddClient(_ context.Context, channel, socketID string) error {
	b.reg.set(channel, socketID, true)
	return nil
}

// RemoveClient implements broker.ClientRegistry, writing behind.
func (b *Broker) RemoveClient(_ context.Context, channel, socketID string) error {
	b.reg.set(channel, socketID, false)
	return nil
}

// startWriter starts the goroutine that writes the queued channels until
// the broker closes.
func (b *Broker) startWriter() { b.life.Drain(b.reg.wake, b.writeNext) }

// writeNext writes the next queued channel and reports whether there was
// one.
func (b *Broker) writeNext() bool {
	p, ok := b.reg.next()
	if !ok {
		return false
	}
	ctx, cancel := b.life.Call(context.Background())
	err := b.writeChannel(ctx, p)
	cancel()
	if err != nil {
		b.reg.fail(p)
		if b.life.Stopped() {
			return false // cut short by Close, which removes the node's entries
		}
		b.log.Warn("natsbroker: subscriber registry write failed, will retry", "channel", p.channel, "err", err)
	}
	return true
}

// writeChannel makes NATS hold p's sockets as this node's subscribers of
// its channel. A channel taken from no node to some, or back, is
// reported occupied or vacated here; one whose subscribers came and went
// before their turn is listed for a moment, so that it is both.
func (b *Broker) writeChannel(ctx context.Context, p pending) error {
	channel := p.channel
	defer b.reg.lock(channel)()
	kv, token := b.reg.kv(), channelToken(channel)
	if len(p.sockets) > 0 || (p.brief && !p.written) {
		if err := b.ensureIndex(ctx, channel); err != nil {
			return err
		}
	}
	if len(p.sockets) > 0 {
		hashes, err := writeSockets(ctx, kv.clients, token, b.node, p.sockets,
			maxChunk(b.nc.MaxPayload()), b.reg.writtenChunks(channel))
		b.reg.setChunks(channel, hashes)
		if err != nil {
			return err
		}
	}
	if !p.written && (len(p.sockets) > 0 || p.brief) {
		n, err := updateNodes(ctx, kv.clients, token, b.node, true)
		if err != nil {
			return err
		}
		b.reg.setWritten(channel, true)
		b.watch.Occupancy(channel, n)
	}
	if len(p.sockets) == 0 {
		b.reg.setWritten(channel, false)
		if err := b.removeClients(ctx, b.node, channel); err != nil {
			return err
		}
		b.dropIndexIfIdle(ctx, channel)
	}
	return nil
}

// removeClients removes node's subscribers of channel, reporting the
// channel vacated if node was its last.
func (b *Broker) removeClients(ctx context.Context, node, channel string) error {
	kv, token := b.reg.kv(), channelToken(channel)
	n, err := updateNodes(ctx, kv.clients, token, node, false)
	if err != nil {
		return err
	}
	b.watch.Occupancy(channel, n)
	known := 0
	if node == b.node {
		known = len(b.reg.writtenChunks(channel))
	}
	if err := deleteSockets(ctx, kv.clients, token, node, known); err != nil {
		return err
	}
	if node == b.node {
		b.reg.setChunks(channel, nil)
	}
	return nil
}

// Clients implements broker.ClientRegistry: the socket ids subscribed to
// channel on every live node, sorted: this node's exactly, the other
// nodes' as far as they have written them (see above). Subscribers of a
// node whose heartbeat expired are left out even before a survivor
// reaped them.
func (b *Broker) Clients(ctx context.Context, channel string) ([]string, error) {
	ids := b.reg.sockets(channel)
	if !b.reg.ready() {
		return ids, nil
	}
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	if err := b.connected(); err != nil {
		return fail(err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	kv, token := b.reg.kv(), channelToken(channel)
	nodes, err := readNodes(ctx, kv.clients, token)
	if err != nil {
		return fail(err)
	}
	for _, n := range nodes {
		if n == b.node {
			continue
		}
		alive, err := b.alive(ctx, n)
		if err != nil {
			return fail(err)
		}
		if !alive {
			continue
		}
		theirs, err := readSockets(ctx, kv.clients, token, n)
		if err != nil {
			return fail(err)
		}
		ids = append(ids, theirs...)
	}
	sort.Strings(ids)
	return ids, nil
}
