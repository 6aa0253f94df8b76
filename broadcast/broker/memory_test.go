package broker_test

import (
	"testing"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/broker/brokertest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	brokertest.RunBroker(t, func(*testing.T) broker.Broker { return broker.NewMemory() })
	brokertest.RunPresence(t, func(*testing.T) broker.PresenceStore { return broker.NewMemoryPresence() })
	brokertest.RunHistory(t, func(*testing.T) broker.Broker { return broker.NewMemory() }, nil)
}

// The memory presence store keeps the grace contract.
func TestMemoryPresenceGrace(t *testing.T) {
	t.Parallel()
	brokertest.RunGrace(t, func(*testing.T) broker.GracefulPresence { return broker.NewMemoryPresence() })
}
