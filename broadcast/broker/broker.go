package broker

import (
	"context"
)

// Broker moves envelopes between the nodes of a cluster. Every node's hub
// is fed by its broker: the in-memory broker is a loopback, a distributed
// one publishes on one node and delivers on each.
//
// The contract, which brokertest.RunBroker checks:
//
//   - Start is called once, before any other method, with the function
//     that hands an envelope to this node. deliver never blocks (it only
//     enqueues), must not be called after Close returns, and may be
//     called from several goroutines at once for different channels.
//   - Subscribe returns once the subscription is live: an envelope
//     published anywhere after Subscribe returned reaches deliver. A
//     broker may deliver envelopes for channels it was not subscribed to
//     (the hub drops them).
//   - Envelopes of one channel published by one goroutine are delivered
//     in publication order, each exactly once per subscribed channel;
//     they may arrive as one envelope listing several channels or as one
//     envelope per channel. Every field of the envelope arrives as
//     published.
//   - Subscribe and Unsubscribe calls for one channel never overlap (the
//     server serializes them per channel).
//   - Publish and Subscribe fail, within the context's deadline, when
//     the broker cannot reach its back end.
//   - Close stops every goroutine the broker started and is idempotent.
type Broker interface {
	Start(deliver func(*Envelope)) error
	Publish(ctx context.Context, e *Envelope) error
	Subscribe(ctx context.Context, channel string) error
	Unsubscribe(ctx context.Context, channel string) error
	Close() error
}

// ClientRegistry is implemented by brokers that know the subscribers of
// the whole cluster. The server records each local subscription with it
// and answers GetClients from it. AddClient and RemoveClient are called
// on the server's join and leave paths and must not wait for the back
// end: a distributed registry writes behind (the Redis one in batches)
// and documents how stale Clients may be. Clients returns the socket ids
// sorted.
type ClientRegistry interface {
	AddClient(ctx context.Context, channel, socketID string) error
	RemoveClient(ctx context.Context, channel, socketID string) error
	Clients(ctx context.Context, channel string) ([]string, error)
}

// ContextCloser is implemented by brokers whose Close talks to a back
// end: CloseContext is Close bounded by ctx. When ctx ends first it gives
// up on the remote clean-up (other nodes expire this node's entries) but
// still stops every goroutine the broker started. Server.Shutdown uses it
// when the broker has it.
type ContextCloser interface {
	CloseContext(ctx context.Context) error
}

// HealthChecker is implemented by brokers that depend on a back end: Health
// returns nil while the node can publish and receive, else the cause.
type HealthChecker interface {
	Health(ctx context.Context) error
}
