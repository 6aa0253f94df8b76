package drivers

import (
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// NewRedisDriver returns the Redis driver for several processes: the same
// websocket.Server as NewWebSocketDriver, serving this process's
// connections, with a redisbroker.Broker carrying broadcasts between the
// processes and keeping presence, ToOthers and GetClients cluster-wide.
// It fails, naming the Redis URL, when Redis is unreachable or opts are
// invalid. Server.Shutdown closes the broker.
func NewRedisDriver(config websocket.Config, opts redisbroker.Options, wsOpts ...websocket.Option) (*websocket.Server, error) {
	b, err := redisbroker.New(opts)
	if err != nil {
		return nil, err
	}
	return NewBrokerDriver("redis", config, b, b.Presence(), wsOpts...)
}
