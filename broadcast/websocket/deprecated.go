package websocket

import "github.com/velocitykode/velocity/broadcast/broker"

// Former homes of the back-end contract, now in broadcast/broker.
//
// Deprecated: use the broadcast/broker names; these aliases will be
// removed in the next release.
type (
	Broker         = broker.Broker
	ClientRegistry = broker.ClientRegistry
	PresenceStore  = broker.PresenceStore
	LocalBroker    = broker.Memory
	MemoryPresence = broker.MemoryPresence
)

// NewLocalBroker returns the single-process broker.
//
// Deprecated: use broker.NewMemory.
func NewLocalBroker() *broker.Memory { return broker.NewMemory() }

// NewMemoryPresence returns an in-memory presence store.
//
// Deprecated: use broker.NewMemoryPresence.
func NewMemoryPresence() *broker.MemoryPresence { return broker.NewMemoryPresence() }
