// Package chatapp is the chat example as a library, so that main.go stays
// small and the browser tests can run (and restart) it in-process.
//
// Users sign in with a display name (POST /login answers a JWT), join rooms
// that are presence channels presence-chat.{room}, see who is online, see
// who is typing (whispers), send messages with POST /rooms/{room}/messages
// (broadcast to the others as MessageSent), see a room's last messages
// (GET /rooms/{room}/messages, from the channel's history) and get a
// NewNotification on private-user.{id} when someone mentions them with
// @name.
package chatapp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/examples/internal/serve"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

// DefaultRooms are the rooms when Options.Rooms is empty; the first is
// where users land.
var DefaultRooms = []string{"general", "random", "golang"}

// Options configures New.
type Options struct {
	// Config is the plugin configuration (plugin.LoadConfig or FromLookup).
	Config plugin.Config
	// Secret is the HS256 key of the user tokens (required).
	Secret []byte
	// TokenTTL is the life of a token (default one hour). The page
	// refreshes it before expiry.
	TokenTTL time.Duration
	// Rooms lists the rooms (default DefaultRooms).
	Rooms []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// App is the chat: its broadcaster, the plugin and the Echo router.
type App struct {
	opts   Options
	b      *broadcast.Broadcaster
	p      *plugin.Plugin
	e      *echo.Echo
	rooms  map[string]bool
	jwtCfg middleware.Config
}

// New builds the chat with its own broadcaster (so several instances can
// live in one process, as in the tests).
func New(opts Options) (*App, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("chatapp: Options.Secret is required")
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if len(opts.Rooms) == 0 {
		opts.Rooms = DefaultRooms
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &App{opts: opts, b: broadcast.New(nil, historyRule), rooms: map[string]bool{}}
	for _, r := range opts.Rooms {
		a.rooms[r] = true
	}
	a.jwtCfg = jwtConfig(opts.Secret)
	a.registerChannels()
	p, err := plugin.New(opts.Config,
		plugin.WithBroadcaster(a.b),
		plugin.WithJWT(a.jwtCfg),
		plugin.WithLogger(opts.Logger))
	if err != nil {
		return nil, err
	}
	a.p = p
	a.e = a.routes()
	return a, nil
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.e }

// Plugin returns the broadcasting plugin.
func (a *App) Plugin() *plugin.Plugin { return a.p }

// Shutdown closes every WebSocket with code 4200, so pages reconnect.
func (a *App) Shutdown(ctx context.Context) error { return a.p.Shutdown(ctx) }

// routes mounts the plugin, the client, the API and the page.
func (a *App) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Pre(serve.HeadAsGet)
	e.HTTPErrorHandler = errorHandler
	e.Use(securityHeaders)
	a.p.Register(e) // GET /ws, POST /broadcasting/auth, GET /broadcasting/client.js, …

	e.POST("/login", a.login)
	e.GET("/rooms", a.listRooms)
	authed := middleware.JWT(a.jwtCfg)
	e.POST("/token", a.refreshToken, authed)
	e.POST("/rooms/:room/messages", a.sendMessage, authed)
	e.GET("/rooms/:room/messages", a.roomHistory, authed)
	page := staticHandler()
	e.GET("/*", page)
	return e
}

// securityHeaders keeps user data inert even if a bug rendered it as
// HTML: scripts only from this origin, no inline script or handlers.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}
