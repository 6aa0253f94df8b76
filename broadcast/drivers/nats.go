package drivers

import (
	"fmt"

	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// NewNATSDriver returns the NATS driver for several processes: the same
// websocket.Server as NewWebSocketDriver, serving this process's
// connections, with a natsbroker.Broker carrying broadcasts between the
// processes and keeping presence, channel history, ToOthers and
// GetClients cluster-wide. NATS must run with JetStream. It fails, naming
// the NATS URL, when NATS is unreachable or opts are invalid.
// Server.Shutdown closes the broker.
func NewNATSDriver(config websocket.Config, opts natsbroker.Options, wsOpts ...websocket.Option) (*websocket.Server, error) {
	b, err := natsbroker.New(opts)
	if err != nil {
		return nil, err
	}
	all := make([]websocket.Option, 0, len(wsOpts)+2)
	all = append(all, wsOpts...)
	all = append(all, websocket.WithBroker(b), websocket.WithPresenceStore(b.Presence()))
	s, err := websocket.NewServer(config, all...)
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("drivers: nats driver: %w", err)
	}
	return s, nil
}
