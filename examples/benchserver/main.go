// Command benchserver is the smallest Echo app that serves Velocity
// Broadcast for cmd/broadcast-bench: the plugin on its in-memory default
// driver, the native WebSocket at /ws, a publish endpoint and a stats
// endpoint. It is a load-test target, not an example of a secure app:
// anyone who can reach it may publish.
//
//	ADDR=127.0.0.1:8099 go run ./examples/benchserver
//
// POST /publish takes {"channel":"x","event":"E","data":{...}} or an array
// of those (emitted in order); GET /stats returns the WebSocket server's
// counters as JSON; GET /debug/runtime returns the process's goroutine
// count and heap figures (cheap enough to poll every few seconds). With
// BENCH_PPROF=1 it also serves /debug/pprof/; with BENCH_HOOKS=1 a no-op
// lifecycle hook is registered for every kind (to measure their cost).
//
// The plugin's environment applies as in any app: BROADCAST_HISTORY (e.g.
// "s2=1000/5m") keeps channel history, BROADCAST_DRIVER=redis with
// REDIS_URL runs it as one node of a Redis cluster. The startup line names
// both, so that a server log says what was measured.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/plugin"
)

// publishRequest is one event to emit.
type publishRequest struct {
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
}

func main() {
	// Benchmark defaults; real environment variables still win.
	setDefault("WEBSOCKET_ALLOWED_ORIGINS", "*")
	setDefault("WEBSOCKET_MAX_CONNECTIONS", "1000000")
	setDefault("BROADCAST_APP_SECRET", "benchserver-secret")
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8099"
	}

	cfg, err := plugin.LoadConfig()
	if err != nil {
		log.Fatal(err)
	}
	p, err := plugin.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	p.Register(e)
	b := p.Broadcaster()
	if os.Getenv("BENCH_HOOKS") == "1" {
		for _, k := range broadcast.LifecycleKinds() {
			b.On(k, func(context.Context, broadcast.LifecycleEvent) {})
		}
	}

	e.POST("/publish", func(c echo.Context) error {
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, 16<<20))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		var reqs []publishRequest
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			err = json.Unmarshal(t, &reqs)
		} else {
			reqs = make([]publishRequest, 1)
			err = json.Unmarshal(t, &reqs[0])
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		for _, r := range reqs {
			if err := b.Channel(r.Channel).Emit(r.Event, r.Data); err != nil {
				return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
			}
		}
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/stats", func(c echo.Context) error {
		if p.Server() == nil {
			return echo.NewHTTPError(http.StatusNotFound, "no WebSocket server with this driver")
		}
		return c.JSON(http.StatusOK, p.Server().Stats())
	})

	e.GET("/debug/runtime", func(c echo.Context) error {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return c.JSON(http.StatusOK, map[string]uint64{
			"goroutines": uint64(runtime.NumGoroutine()),
			"heap_alloc": m.HeapAlloc,
			"heap_sys":   m.HeapSys,
			"num_gc":     uint64(m.NumGC),
		})
	})

	if os.Getenv("BENCH_PPROF") != "" { // profiles at /debug/pprof/ while a benchmark runs
		e.GET("/debug/pprof/*", echo.WrapHandler(http.DefaultServeMux))
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("benchserver: %v (set ADDR to another address)", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
	}()
	hist := "off"
	if len(cfg.WebSocket.History) > 0 {
		hist = os.Getenv("BROADCAST_HISTORY")
	}
	log.Printf("benchserver: listening on http://%s (pid %d, driver %s, history %s, hooks %t)", ln.Addr(), os.Getpid(), cfg.Driver, hist, os.Getenv("BENCH_HOOKS") == "1")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func setDefault(k, v string) {
	if _, ok := os.LookupEnv(k); !ok {
		_ = os.Setenv(k, v)
	}
}
