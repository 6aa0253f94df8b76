// Command dashboard is the Velocity Broadcast live dashboard example: the
// seed's MetricsUpdated on admin.dashboard every second, with simulated
// business figures and the broadcaster's own live figures, shown with a
// live chart of the last five minutes.
//
//	go run ./examples/dashboard   # http://localhost:8090 (ADDR overrides)
//
// The plugin reads .env and the environment (plugin.LoadConfig). The app
// lives in package dashapp; this file only configures and serves it.
package main

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/velocitykode/velocity/examples/dashboard/dashapp"
	"github.com/velocitykode/velocity/plugin"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg, err := plugin.LoadConfig()
	if err != nil {
		return err
	}
	app, err := dashapp.New(dashapp.Options{Config: cfg, Backfill: 5 * time.Minute})
	if err != nil {
		return err
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8090"
	}
	srv := &http.Server{Addr: addr, Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		slog.Info("dashboard: listening", "addr", addr)
		errc <- srv.ListenAndServe()
	}()
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case err := <-errc:
		return err
	case <-stop.Done():
	}
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = app.Shutdown(ctx)
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
