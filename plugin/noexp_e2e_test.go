package plugin_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
)

// A token without "exp" would never expire on a connection: it is
// refused, on the WebSocket handshake and by /broadcasting/auth, unless
// JWT_ALLOW_NO_EXP=true. An expired token is refused either way.
func TestTokenWithoutExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		ttl     time.Duration
		allowed bool
		code    string
	}{
		{"no exp, default", nil, 0, false, "token_no_expiry"},
		{"no exp, allowed", map[string]string{"JWT_ALLOW_NO_EXP": "true"}, 0, true, ""},
		{"expired, allowed", map[string]string{"JWT_ALLOW_NO_EXP": "true"}, -time.Minute, false, "token_expired"},
		{"with exp, default", nil, time.Hour, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, tc.env)
			tok := s.token("1", tc.ttl)
			c := wstest.DialRaw(t, "ws"+strings.TrimPrefix(s.srv.URL, "http")+"/ws?token="+url.QueryEscape(tok), nil)
			f := c.Read()
			if tc.allowed {
				if f.Type != "connected" {
					t.Fatalf("handshake: %s", f.Raw)
				}
				if f := c.Subscribe("private-user.1", "", ""); f.Type != "subscription_succeeded" {
					t.Fatalf("subscribe: %s", f.Raw)
				}
			} else {
				if f.Type != "error" || f.Code() != websocket.CodeUnauthorized {
					t.Fatalf("handshake: got %s, want error 4009", f.Raw)
				}
				if code := c.ExpectClose(); code != websocket.CodeUnauthorized {
					t.Fatalf("close code %d, want 4009", code)
				}
			}
			anon := s.dial("")
			status, body := s.auth(tok, anon.SocketID, "private-user.1", false)
			if tc.allowed != (status == 200) || body["error"] != tc.code {
				t.Fatalf("/broadcasting/auth: %d %v, want error %q", status, body, tc.code)
			}
		})
	}
}
