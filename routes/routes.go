package routes

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
)

// AuthPath is where the channel authorization endpoint is mounted.
const AuthPath = "/broadcasting/auth"

// Routes is what the endpoints need; the plugin fills it.
type Routes struct {
	// WebSocketPath is the path of the native protocol (WEBSOCKET_PATH).
	WebSocketPath string
	// WebSocket serves upgrades; nil mounts no WebSocket route.
	WebSocket http.Handler
	// Broadcaster decides authorization and presence data.
	Broadcaster *broadcast.Broadcaster
	// App signs authorization answers.
	App signature.App
	// User identifies the user of a request: (nil, nil) when anonymous,
	// an error for a bad credential.
	User func(*http.Request) (any, error)
}

// Mount registers every endpoint on e.
func (rt Routes) Mount(e *echo.Echo) {
	if rt.WebSocket != nil {
		e.GET(rt.WebSocketPath, echo.WrapHandler(rt.WebSocket))
	}
	e.POST(AuthPath, rt.ChannelAuth)
}
