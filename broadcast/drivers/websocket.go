package drivers

import (
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// NewWebSocketDriver returns the in-memory WebSocket driver for config
// (zero fields take their defaults): a websocket.Server that serves the
// native protocol and delivers broadcasts to its own connections. It
// panics on an invalid config, like regexp.MustCompile; use
// websocket.NewServer to get the error instead.
func NewWebSocketDriver(config websocket.Config, opts ...websocket.Option) *websocket.Server {
	s, err := websocket.NewServer(config, opts...)
	if err != nil {
		panic(err)
	}
	return s
}
