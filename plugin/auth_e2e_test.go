package plugin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/middleware"
)

func TestPrivateChannelWithConnectionJWT(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	alice := s.dial("1")
	if f := alice.Subscribe("private-user.1", "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("own channel: %s", f.Raw)
	}
	if f := alice.Subscribe("private-user.2", "", ""); f.Type != "subscription_error" || f.Code() != websocket.CodeUnauthorized {
		t.Fatalf("other user's channel: %s", f.Raw)
	}
	if err := s.b.Private("user.1").Emit("AccountUpdate", map[string]int{"balance": 1500}); err != nil {
		t.Fatal(err)
	}
	if f := alice.Expect("AccountUpdate"); f.Channel != "private-user.1" || string(f.Data) != `{"balance":1500}` {
		t.Fatalf("event: %s", f.Raw)
	}
}

func TestAnonymousConnectionIsPublicOnly(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	anon := s.dial("")
	if f := anon.Subscribe("orders", "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("public: %s", f.Raw)
	}
	for _, ch := range []string{"private-user.1", "presence-chat.1"} {
		if f := anon.Subscribe(ch, "", ""); f.Type != "subscription_error" || f.Code() != websocket.CodeUnauthorized {
			t.Fatalf("%s: %s", ch, f.Raw)
		}
	}
}

func TestBadHandshakeTokens(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	expired := s.token("1", -time.Minute)
	otherKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "1"}).SignedString([]byte("another-key"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "1"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tok := range map[string]string{"expired": expired, "other key": otherKey, "alg none": none, "garbage": "abc.def"} {
		t.Run(name, func(t *testing.T) {
			ws := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?token=" + url.QueryEscape(tok)
			c := wstest.DialRaw(t, ws, nil)
			if f := c.Read(); f.Type != "error" || f.Code() != websocket.CodeUnauthorized {
				t.Fatalf("got %s, want error 4009", f.Raw)
			}
			if code := c.ExpectClose(); code != websocket.CodeUnauthorized {
				t.Fatalf("close %d", code)
			}
		})
	}
	// Other connections are undisturbed.
	s.dial("1").RoundTrip()
}

func TestJWTInSubscribeAuth(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	anon := s.dial("")
	if f := anon.Subscribe("private-user.2", s.token("2", time.Hour), ""); f.Type != "subscription_succeeded" {
		t.Fatalf("JWT auth: %s", f.Raw)
	}
	if f := anon.Subscribe("private-user.1", s.token("2", time.Hour), ""); f.Type != "subscription_error" {
		t.Fatalf("JWT of another user: %s", f.Raw)
	}
	if f := anon.Subscribe("private-user.3", s.token("3", -time.Minute), ""); f.Type != "subscription_error" || f.Code() != websocket.CodeUnauthorized {
		t.Fatalf("expired JWT: %s", f.Raw)
	}
}

func TestAuthEndpointSignatures(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	anon := s.dial("")
	other := s.dial("")
	tok := s.token("1", time.Hour)

	for _, asJSON := range []bool{false, true} {
		status, body := s.auth(tok, anon.SocketID, "private-user.1", asJSON)
		if status != http.StatusOK || !strings.HasPrefix(body["auth"], "velocity-key:") {
			t.Fatalf("auth (json=%v): %d %v", asJSON, status, body)
		}
	}
	_, body := s.auth(tok, anon.SocketID, "private-user.1", false)
	sig := body["auth"]
	// Mismatched uses of a valid signature are refused.
	if f := other.Subscribe("private-user.1", sig, ""); f.Type != "subscription_error" || f.Code() != websocket.CodeUnauthorized {
		t.Fatalf("signature for another socket: %s", f.Raw)
	}
	_, body2 := s.auth(tok, anon.SocketID, "private-user.1", false)
	if f := anon.Subscribe("private-other", body2["auth"], ""); f.Type != "subscription_error" {
		t.Fatalf("signature for another channel: %s", f.Raw)
	}
	last := "0"
	if strings.HasSuffix(sig, "0") {
		last = "1"
	}
	if f := anon.Subscribe("private-user.1", sig[:len(sig)-1]+last, ""); f.Type != "subscription_error" {
		t.Fatalf("tampered signature: %s", f.Raw)
	}
	if f := anon.Subscribe("private-user.1", sig, ""); f.Type != "subscription_succeeded" {
		t.Fatalf("valid signature: %s", f.Raw)
	}

	// Presence: channel_data is signed too.
	status, pres := s.auth(tok, anon.SocketID, "presence-chat.lobby", false)
	if status != http.StatusOK || !strings.Contains(pres["channel_data"], `"user_id":"1"`) || !strings.Contains(pres["channel_data"], `"name":"user1"`) {
		t.Fatalf("presence auth: %d %v", status, pres)
	}
	tampered := strings.Replace(pres["channel_data"], `"user_id":"1"`, `"user_id":"2"`, 1)
	if f := anon.Subscribe("presence-chat.lobby", pres["auth"], tampered); f.Type != "subscription_error" {
		t.Fatalf("tampered channel_data: %s", f.Raw)
	}
	f := anon.Subscribe("presence-chat.lobby", pres["auth"], pres["channel_data"])
	if f.Type != "subscription_succeeded" || strings.Join(members(t, f), ",") != "1" {
		t.Fatalf("presence with signature: %s", f.Raw)
	}
}

func TestAuthEndpointStatuses(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	tok := s.token("1", time.Hour)
	cases := []struct {
		name, token, socket, channel string
		want                         int
		code                         string
	}{
		{"no token", "", "1.1", "private-user.1", http.StatusUnauthorized, "token_missing"},
		{"bad token", "x.y.z", "1.1", "private-user.1", http.StatusUnauthorized, "token_invalid"},
		{"expired", s.token("1", -time.Minute), "1.1", "private-user.1", http.StatusUnauthorized, "token_expired"},
		{"refused", tok, "1.1", "private-user.2", http.StatusForbidden, "forbidden"},
		{"refused presence room", tok, "1.1", "presence-chat.secret", http.StatusForbidden, "forbidden"},
		{"malformed socket id", tok, "1:1", "private-user.1", http.StatusBadRequest, "invalid_socket_id"},
		{"bad channel", tok, "1.1", "private-a b", http.StatusBadRequest, "invalid_channel"},
		{"public channel", tok, "1.1", "orders", http.StatusBadRequest, "public_channel"},
		{"missing fields", tok, "", "", http.StatusBadRequest, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := s.auth(tc.token, tc.socket, tc.channel, false)
			if status != tc.want || body["error"] != tc.code || body["message"] == "" {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.want, tc.code)
			}
		})
	}
}

func TestRequireUserMiddleware(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		u, _ := middleware.UserAs[*middleware.User](c)
		return c.String(http.StatusOK, u.ID)
	}, s.p.RequireUser())
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, tc := range []struct {
		token string
		want  int
		body  string
	}{
		{s.token("7", time.Hour), http.StatusOK, "7"},
		{"", http.StatusUnauthorized, "token_missing"},
		{s.token("7", -time.Minute), http.StatusUnauthorized, "token_expired"},
		{"bad", http.StatusUnauthorized, "token_invalid"},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.body) {
			t.Errorf("token %.10q: %d %s, want %d %s", tc.token, resp.StatusCode, b, tc.want, tc.body)
		}
	}
}
