package routes

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/jsclient"
	"github.com/velocitykode/velocity/broadcast/signature"
)

// AuthPath is where the channel authorization endpoint is mounted.
const AuthPath = "/broadcasting/auth"

// Routes is what the endpoints need; the plugin fills it.
type Routes struct {
	// Health reports whether broadcasting works; nil mounts no health route.
	Health func(context.Context) error
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
	// PusherPrefix is an optional path prefix ("/realtime") of the Pusher
	// endpoints, {prefix}/app/:key and {prefix}/apps/:id/… (default "").
	PusherPrefix string
	// Pusher serves Pusher protocol upgrades at {PusherPrefix}/app/:key;
	// nil mounts no such route.
	Pusher http.Handler
	// PusherAPI backs the Pusher HTTP API; nil mounts no API.
	PusherAPI PusherBackend
	// MaxPayloadBytes bounds the data of one event published through the
	// Pusher HTTP API (default DefaultMaxPayloadBytes, 10 KiB; over it: 413).
	MaxPayloadBytes int
}

// Mount registers every endpoint on e.
func (rt Routes) Mount(e *echo.Echo) {
	if rt.WebSocket != nil {
		e.GET(rt.WebSocketPath, echo.WrapHandler(rt.WebSocket))
	}
	if rt.Pusher != nil {
		e.GET(rt.PusherPrefix+"/app/:key", echo.WrapHandler(rt.Pusher))
	}
	if rt.PusherAPI != nil {
		rt.mountPusherAPI(e)
	}
	e.POST(AuthPath, rt.ChannelAuth)
	e.POST(UserAuthPath, rt.UserAuth)
	e.GET(jsclient.Path, echo.WrapHandler(jsclient.Handler()))
	if rt.Health != nil {
		e.GET(HealthPath, rt.health)
	}
}

// HealthPath answers 200 {"status":"ok"} while the plugin can broadcast
// and 503 {"status":"unavailable","error":...} while it cannot (the Redis
// driver without Redis).
const HealthPath = "/broadcasting/health"

func (rt Routes) health(c echo.Context) error {
	if err := rt.Health(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
