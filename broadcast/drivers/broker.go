package drivers

import (
	"fmt"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// NewBrokerDriver returns the driver for several processes over any
// broker that keeps the broker package's contracts: the same
// websocket.Server as NewWebSocketDriver, with b carrying broadcasts
// between the processes and presence (nil: in this process only) kept
// where b keeps it. It closes b when the server cannot be built; else
// Server.Shutdown closes it. name labels the error.
func NewBrokerDriver(name string, config websocket.Config, b broker.Broker, presence broker.PresenceStore, wsOpts ...websocket.Option) (*websocket.Server, error) {
	all := make([]websocket.Option, 0, len(wsOpts)+2)
	all = append(all, wsOpts...)
	all = append(all, websocket.WithBroker(b))
	if presence != nil {
		all = append(all, websocket.WithPresenceStore(presence))
	}
	s, err := websocket.NewServer(config, all...)
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("drivers: %s driver: %w", name, err)
	}
	return s, nil
}
