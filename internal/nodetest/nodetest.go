// Package nodetest builds the app processes of the tests' clusters: a
// websocket.Server on a distributed broker, served on a local listener,
// with the authenticator and Broadcaster the tests share. It is test
// support only.
package nodetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
)

// NewServer builds a node's websocket.Server: cfg with br, its presence
// store ps, users from UserFromQuery and log. When it fails it closes br.
func NewServer(cfg ws.Config, br broker.Broker, ps broker.PresenceStore, log *slog.Logger) (*ws.Server, error) {
	srv, err := ws.NewServer(cfg, ws.WithBroker(br), ws.WithPresenceStore(ps),
		ws.WithAuthenticator(UserFromQuery), ws.WithLogger(log))
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return srv, nil
}

// Serve serves srv on a local listener and returns it with its ws:// URL.
// When t ends it shuts srv down (10 s at most) and closes the listener;
// when t failed it logs logs (nil: nothing) first.
func Serve(t testing.TB, srv *ws.Server, logs fmt.Stringer) (*httptest.Server, string) {
	t.Helper()
	h := httptest.NewServer(srv)
	t.Cleanup(func() {
		if t.Failed() && logs != nil {
			t.Logf("node log:\n%s", logs)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		h.Close()
	})
	return h, "ws" + strings.TrimPrefix(h.URL, "http")
}

// NewBroadcaster binds a Broadcaster to d whose authorizer is admit and
// whose presence members are {"name": "user ID"}.
func NewBroadcaster(d broadcast.Driver, admit func(channel string, user any) bool) *broadcast.Broadcaster {
	b := broadcast.New(d)
	b.SetAuthorizer(admit)
	b.SetPresenceData(func(_ string, user interface{}) interface{} {
		return map[string]any{"name": "user " + broadcast.UserID(user)}
	})
	return b
}

// UserFromQuery authenticates "?user=NAME" as the user NAME, and a
// request without it as anonymous.
func UserFromQuery(r *http.Request) (ws.Identity, error) {
	if u := r.URL.Query().Get("user"); u != "" {
		return ws.Identity{User: u}, nil
	}
	return ws.Identity{}, nil
}

// ExpectResync reads c until the server closes it with 4202, after the
// error frame that says so.
func ExpectResync(t testing.TB, c *wstest.Client) {
	t.Helper()
	told := false
	deadline := time.Now().Add(ws.ResyncWindow + 5*time.Second)
	for {
		_ = c.WS.SetReadDeadline(deadline)
		_, data, err := c.WS.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != ws.CodeResync || !told {
				t.Fatalf("closed with %d (error frame with 4202 first: %v), want %d", ce.Code, told, ws.CodeResync)
			}
			return
		}
		if err != nil {
			t.Fatalf("waiting for the resync close: %v", err)
		}
		if strings.Contains(string(data), `"code":4202`) {
			told = true
		}
	}
}
