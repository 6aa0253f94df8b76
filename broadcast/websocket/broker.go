package websocket

import (
	"context"

	"github.com/velocitykode/velocity/broadcast"
)

// Broker moves messages between the nodes of a cluster. Every node's hub
// is fed by its broker: the local broker is a loopback, the Redis broker
// a PUBLISH on one node and a subscription loop on each.
type Broker interface {
	// Start is called once, before any other method, with the function
	// that delivers a message to this node's hub.
	Start(deliver func(*broadcast.Message)) error
	// Publish sends m to every node that subscribed to one of its channels.
	Publish(ctx context.Context, m *broadcast.Message) error
	// Subscribe is called when channel gets its first local subscriber,
	// Unsubscribe when its last one leaves; calls for one channel never
	// overlap.
	Subscribe(ctx context.Context, channel string) error
	Unsubscribe(ctx context.Context, channel string) error
	// Close stops the broker's goroutines.
	Close() error
}

// LocalBroker is the in-memory broker of a single process: Publish
// delivers straight into the local hub, in the caller's goroutine.
type LocalBroker struct {
	deliver func(*broadcast.Message)
}

// NewLocalBroker returns the single-process broker.
func NewLocalBroker() *LocalBroker { return &LocalBroker{} }

// Start implements Broker.
func (b *LocalBroker) Start(deliver func(*broadcast.Message)) error {
	b.deliver = deliver
	return nil
}

// Publish implements Broker.
func (b *LocalBroker) Publish(_ context.Context, m *broadcast.Message) error {
	b.deliver(m)
	return nil
}

// Subscribe implements Broker; a single process needs no subscription.
func (b *LocalBroker) Subscribe(context.Context, string) error { return nil }

// Unsubscribe implements Broker.
func (b *LocalBroker) Unsubscribe(context.Context, string) error { return nil }

// Close implements Broker.
func (b *LocalBroker) Close() error { return nil }

// ClientRegistry is implemented by brokers that know the subscribers of
// the whole cluster (the Redis broker). The server records each local
// subscription with it and answers GetClients from it.
type ClientRegistry interface {
	AddClient(ctx context.Context, channel, socketID string) error
	RemoveClient(ctx context.Context, channel, socketID string) error
	Clients(ctx context.Context, channel string) ([]string, error)
}
