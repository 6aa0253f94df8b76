package drivers

import (
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
	return NewBrokerDriver("nats", config, b, b.Presence(), wsOpts...)
}
