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
	// Ready reports whether the node may take traffic, for
	// ReadyPath; nil mounts neither ReadyPath nor LivePath (health.go).
	Ready func(context.Context) error
	// Metrics serves MetricsPath; nil mounts no metrics route.
	Metrics http.Handler
	// WebSocketPath is the path of the native protocol (WEBSOCKET_PATH).
	WebSocketPath string
	// WebSocket serves upgrades; nil mounts no WebSocket route.
	WebSocket http.Handler
	// Broadcaster decides authorization and presence data.
	Broadcaster *broadcast.Broadcaster
	// App signs authorization answers.
	App signature.App
	// OnSign, when set, is called before each answer signed with App's
	// secret (POST /broadcasting/auth and /broadcasting/user-auth).
	OnSign func()
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
	// ReplayGuard, when set, accepts each signed POST of the Pusher HTTP
	// API once: the same signed request again is refused with 409
	// replayed_request. Nil: a signed request may be replayed within its
	// ±600 s timestamp window, as with Pusher.
	ReplayGuard ReplayGuard
}

// Router is where Mount registers the endpoints: *echo.Echo, or an
// *echo.Group whose prefix and middleware then apply to every endpoint.
type Router interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

var (
	_ Router = (*echo.Echo)(nil)
	_ Router = (*echo.Group)(nil)
)

// Mount registers every endpoint on r. On an *echo.Group the paths get
// the group's prefix (the Pusher HTTP API then checks signatures over the
// path without it, as without PusherPrefix) and the group's middleware
// runs before each endpoint, the WebSocket upgrades included.
func (rt Routes) Mount(r Router) {
	if rt.WebSocket != nil {
		r.Add(http.MethodGet, rt.WebSocketPath, echo.WrapHandler(rt.WebSocket))
	}
	if rt.Pusher != nil {
		r.Add(http.MethodGet, rt.PusherPrefix+"/app/:key", echo.WrapHandler(rt.Pusher))
	}
	if rt.PusherAPI != nil {
		rt.mountPusherAPI(r)
	}
	r.Add(http.MethodPost, AuthPath, rt.ChannelAuth)
	r.Add(http.MethodPost, UserAuthPath, rt.UserAuth)
	js := echo.WrapHandler(jsclient.Handler())
	r.Add(http.MethodGet, jsclient.Path, js)
	r.Add(http.MethodHead, jsclient.Path, js)
	if rt.Health != nil {
		r.Add(http.MethodGet, HealthPath, rt.health)
	}
	rt.mountProbes(r)
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
