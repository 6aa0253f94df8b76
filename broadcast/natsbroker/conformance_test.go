package natsbroker

import (
	"testing"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/broker/brokertest"
	"github.com/velocitykode/velocity/internal/testenv"
)

// newTestBroker returns an unstarted broker on a prefix of its own.
func newTestBroker(t *testing.T, mod ...func(*Options)) *Broker {
	t.Helper()
	url := natsURL(t)
	opts := Options{URL: url, Prefix: testPrefix(t, url), Logger: (&testenv.Buffer{}).Logger()}
	for _, m := range mod {
		m(&opts)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peerOf returns an unstarted broker sharing b's server and prefix.
func peerOf(t *testing.T, b broker.Broker) broker.Broker {
	t.Helper()
	nb := b.(*Broker)
	peer, err := New(Options{URL: nb.opts.URL, Prefix: nb.opts.Prefix, Logger: (&testenv.Buffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return peer
}

// The NATS broker, its presence store and its client registry keep the
// contract every broker keeps.
func TestConformance(t *testing.T) {
	t.Parallel()
	brokertest.RunBroker(t, func(t *testing.T) broker.Broker { return newTestBroker(t) })
	brokertest.RunHistory(t, func(t *testing.T) broker.Broker { return newTestBroker(t) }, peerOf)
	brokertest.RunWatch(t, func(t *testing.T) broker.Broker { return newTestBroker(t) }, peerOf)
	brokertest.RunPresence(t, func(t *testing.T) broker.PresenceStore {
		b := newTestBroker(t)
		started(t, b)
		return b.Presence()
	})
	brokertest.RunGrace(t, func(t *testing.T) broker.GracefulPresence {
		b := newTestBroker(t)
		started(t, b)
		return b.Presence()
	})
	brokertest.RunRegistry(t, func(t *testing.T) broker.ClientRegistry {
		b := newTestBroker(t)
		started(t, b)
		return b
	})
}

// started starts b with a no-op deliver func and closes it at cleanup.
func started(t *testing.T, b *Broker) {
	t.Helper()
	if err := b.Start(func(*broker.Envelope) {}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
}
