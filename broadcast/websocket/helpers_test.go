package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/wstest"
)

// testServer is a Server behind a real HTTP listener with its own
// Broadcaster.
type testServer struct {
	*Server
	b    *broadcast.Broadcaster
	http *httptest.Server
	url  string
}

func newTestServer(t testing.TB, cfg Config, opts ...Option) *testServer {
	t.Helper()
	s, err := NewServer(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(s)
	hs := httptest.NewServer(s)
	ts := &testServer{Server: s, b: b, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return ts
}

// dial connects a native-protocol client and waits for its connected frame.
func (ts *testServer) dial(t *testing.T, hdr http.Header) *wstest.Client {
	t.Helper()
	return wstest.Dial(t, ts.url, hdr)
}

// subscribe subscribes c to a public channel and returns the answer.
func subscribe(c *wstest.Client, channel string) wstest.Frame {
	return c.Subscribe(channel, "", "")
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) { wstest.Eventually(t, what, cond) }
