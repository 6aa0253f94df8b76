// Command server is the Velocity Broadcast app that the Node
// compatibility tests in test/compat drive with the real pusher-js,
// laravel-echo and pusher (server SDK) packages. It mounts the plugin on
// an Echo app, with a JWT secret, an authorizer that refuses channels
// whose names contain "forbidden", and presence data {id, name} from the
// token, plus helpers for the tests:
//
//	GET  /test/token?sub=1&name=Alice  → an HS256 JWT for that user
//	POST /test/emit {"channels":[…],"event":"…","data":…}  (X-Socket-ID: to others)
//	GET  /test/clients?channel=…  → {"clients":[socket ids]}
//	POST /test/disconnect?socket_id=…&code=4200
//
// It prints "listening on HOST:PORT" once it accepts connections and
// stops on SIGINT/SIGTERM. Not for production: /test/token mints tokens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

// Test defaults; real environment variables win.
var defaults = map[string]string{
	"JWT_SECRET":                "compat-jwt-secret",
	"BROADCAST_APP_ID":          "compat-app",
	"BROADCAST_APP_KEY":         "compat-key",
	"BROADCAST_APP_SECRET":      "compat-secret",
	"WEBSOCKET_ALLOWED_ORIGINS": "*",
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	cfg, err := plugin.FromLookup(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := defaults[k]
		return v, ok
	})
	if err != nil {
		return err
	}
	b := broadcast.New(nil)
	b.SetAuthorizer(func(channel string, _ any) bool { return !strings.Contains(channel, "forbidden") })
	b.SetPresenceData(func(_ string, user any) any {
		u, ok := user.(*middleware.User)
		if !ok {
			return nil
		}
		return map[string]any{"id": u.ID, "name": u.Claims["name"]}
	})
	p, err := plugin.New(cfg, plugin.WithBroadcaster(b))
	if err != nil {
		return err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	p.Register(e)
	mountTestRoutes(e, p, []byte(cfg.JWTSecret))

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
	}()
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func mountTestRoutes(e *echo.Echo, p *plugin.Plugin, secret []byte) {
	e.GET("/test/token", func(c echo.Context) error {
		tok, err := middleware.SignHS256(secret, c.QueryParam("sub"), time.Hour, map[string]any{"name": c.QueryParam("name")})
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, map[string]string{"token": tok})
	})
	e.POST("/test/emit", func(c echo.Context) error {
		var req struct {
			Channels []string `json:"channels"`
			Event    string   `json:"event"`
			Data     any      `json:"data"`
		}
		if err := c.Bind(&req); err != nil {
			return err
		}
		err := p.Broadcaster().Channel(req.Channels...).ToOthers(c.Request().Header.Get("X-Socket-ID")).Emit(req.Event, req.Data)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.JSON(http.StatusOK, map[string]any{"clients": p.Broadcaster().GetClients(req.Channels[0])})
	})
	e.GET("/test/clients", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"clients": p.Broadcaster().GetClients(c.QueryParam("channel"))})
	})
	e.POST("/test/disconnect", func(c echo.Context) error {
		code, _ := strconv.Atoi(c.QueryParam("code"))
		if code == 0 {
			code = 4200
		}
		if !p.Server().Disconnect(c.QueryParam("socket_id"), code, "test disconnect") {
			return echo.NewHTTPError(http.StatusNotFound, "no such socket")
		}
		return c.NoContent(http.StatusNoContent)
	})
}
