package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Handler returns an http.Handler that serves the native protocol at
// Config.Path and the Pusher protocol at /app/{key}; any other request
// gets 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+s.cfg.Path, s)
	mux.Handle("GET /app/{key}", s.PusherHandler())
	return mux
}

// ListenAndServe serves Handler on Config.Host:Config.Port until
// Shutdown, after which it returns nil. It fails when the address cannot
// be bound.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Host, fmt.Sprint(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("websocket: listen: %w", err)
	}
	return s.Serve(ln)
}

// Serve serves Handler on ln until Shutdown, after which it returns nil.
// Request headers must arrive within 10 seconds.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, hs)
	s.mu.Unlock()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("websocket: serve: %w", err)
	}
	return nil
}
