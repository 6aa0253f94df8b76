package redisbroker

import (
	"testing"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/broker/brokertest"
	"github.com/velocitykode/velocity/internal/testenv"
)

// newTestBroker returns an unstarted broker on a key prefix of its own.
func newTestBroker(t *testing.T) *Broker {
	t.Helper()
	url := redisURL(t)
	b, err := New(Options{URL: url, Prefix: testPrefix(t, url), Logger: (&testenv.Buffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The Redis broker, its presence store and its client registry keep the
// contract every broker keeps.
func TestConformance(t *testing.T) {
	t.Parallel()
	brokertest.RunBroker(t, func(t *testing.T) broker.Broker { return newTestBroker(t) })
	brokertest.RunPresence(t, func(t *testing.T) broker.PresenceStore {
		b := newTestBroker(t)
		t.Cleanup(func() { _ = b.Close() })
		return b.Presence()
	})
	peer := func(t *testing.T, b broker.Broker) broker.Broker {
		t.Helper()
		rb := b.(*Broker)
		peer, err := New(Options{URL: redisURL(t), Prefix: rb.opts.Prefix, Logger: (&testenv.Buffer{}).Logger()})
		if err != nil {
			t.Fatal(err)
		}
		return peer
	}
	brokertest.RunHistory(t, func(t *testing.T) broker.Broker { return newTestBroker(t) }, peer)
	brokertest.RunWatch(t, func(t *testing.T) broker.Broker { return newTestBroker(t) }, peer)
	brokertest.RunGrace(t, func(t *testing.T) broker.GracefulPresence {
		b := newTestBroker(t)
		t.Cleanup(func() { _ = b.Close() })
		return b.Presence()
	})
	brokertest.RunRegistry(t, func(t *testing.T) broker.ClientRegistry {
		b := newTestBroker(t)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
