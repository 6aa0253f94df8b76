// Package serve runs an example app's HTTP server: it binds first, logs
// the address it listens on only once the bind succeeded, and shuts the
// app and the server down on SIGINT or SIGTERM.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// App is what an example serves.
type App interface {
	Handler() http.Handler
	// Shutdown closes the app's connections (with 4200, so pages
	// reconnect to the next instance) and stops its goroutines.
	Shutdown(ctx context.Context) error
}

// Run serves app on addr (the ADDR environment variable when set) until
// a signal, then shuts it down within 10 seconds. name prefixes the log
// line and the errors.
func Run(name, addr string, app App) error {
	if v := os.Getenv("ADDR"); v != "" {
		addr = v
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w (set ADDR to another address)", name, err)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info(name + ": listening on http://" + LocalURL(ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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

// LocalURL turns a listen address into host:port for the log line: a
// wildcard host (none, 0.0.0.0, ::) becomes localhost.
func LocalURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
