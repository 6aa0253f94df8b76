package chatapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

var testSecret = []byte("chat-test-secret-chat-test-secret")

type harness struct {
	t   *testing.T
	srv *httptest.Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg, err := plugin.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(Options{Config: cfg, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = app.Shutdown(ctx)
		srv.Close()
	})
	return &harness{t: t, srv: srv}
}

// call sends a JSON request and decodes the JSON answer.
func (h *harness) call(method, path, token, socketID, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if socketID != "" {
		req.Header.Set("X-Socket-ID", socketID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		h.t.Fatalf("%s %s answered non-JSON %q", method, path, raw)
	}
	return resp.StatusCode, out
}

// login signs in and returns the token and the user id.
func (h *harness) login(name string) (token, id string) {
	h.t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name})
	status, out := h.call(http.MethodPost, "/login", "", "", string(b))
	if status != http.StatusOK {
		h.t.Fatalf("login %q = %d %v", name, status, out)
	}
	user := out["user"].(map[string]any)
	if user["name"] != name {
		h.t.Fatalf("login returned name %v, want %q", user["name"], name)
	}
	return out["token"].(string), user["id"].(string)
}

// join connects with token and subscribes to channel the way velocity.js
// does: POST /broadcasting/auth, then subscribe with auth and channel_data.
func (h *harness) join(token, channel string) *wstest.Client {
	h.t.Helper()
	c := wstest.Dial(h.t, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws?token="+url.QueryEscape(token), nil)
	body, _ := json.Marshal(map[string]string{"socket_id": c.SocketID, "channel_name": channel})
	status, auth := h.call(http.MethodPost, "/broadcasting/auth", token, "", string(body))
	if status != http.StatusOK {
		h.t.Fatalf("auth %s = %d %v", channel, status, auth)
	}
	cd, _ := auth["channel_data"].(string)
	if f := c.Subscribe(channel, auth["auth"].(string), cd); f.Type != "subscription_succeeded" {
		h.t.Fatalf("subscribe %s: %s", channel, f.Raw)
	}
	return c
}

func TestLoginValidation(t *testing.T) {
	h := newHarness(t)
	for body, want := range map[string]int{
		`{"name":""}`:    http.StatusUnprocessableEntity,
		`{"name":"   "}`: http.StatusUnprocessableEntity,
		`{"name":"` + strings.Repeat("n", 33) + `"}`:    http.StatusUnprocessableEntity,
		`{"name":"a\u0000b"}`:                           http.StatusUnprocessableEntity,
		`not json`:                                      http.StatusBadRequest,
		`{"name":"` + strings.Repeat("n", 20000) + `"}`: http.StatusRequestEntityTooLarge,
	} {
		status, out := h.call(http.MethodPost, "/login", "", "", body)
		if status != want || out["error"] == "" || out["message"] == "" {
			t.Errorf("login %.40q = %d %v, want %d with an error body", body, status, out, want)
		}
	}
	// Markup is a valid name: the page renders it as text.
	h.login(`<img src=x onerror=alert(1)>`)
}

func TestMessagesReachOthersAndMentionsNotify(t *testing.T) {
	h := newHarness(t)
	aliceTok, aliceID := h.login("alice")
	bobTok, bobID := h.login("bob")
	alice := h.join(aliceTok, "presence-chat.general")
	bob := h.join(bobTok, "presence-chat.general")
	if f := alice.Expect("member_added"); !strings.Contains(string(f.Data), `"name":"bob"`) {
		t.Fatalf("member_added: %s", f.Raw)
	}
	bobInbox := h.join(bobTok, "private-user."+bobID)
	aliceInbox := h.join(aliceTok, "private-user."+aliceID)

	status, out := h.call(http.MethodPost, "/rooms/general/messages", aliceTok, alice.SocketID, `{"message":"hi @Bob, <b>look</b>"}`)
	if status != http.StatusCreated || out["name"] != "alice" || out["message"] != "hi @Bob, <b>look</b>" {
		t.Fatalf("send = %d %v", status, out)
	}
	if n, _ := out["notified"].([]any); len(n) != 1 || n[0] != "bob" {
		t.Fatalf("notified = %v", out["notified"])
	}
	got := bob.Expect("MessageSent")
	var m MessageSent
	_ = json.Unmarshal(got.Data, &m)
	if m.UserID != aliceID || m.Message != "hi @Bob, <b>look</b>" || m.Room != "general" || m.ID != out["id"] {
		t.Fatalf("bob got %s", got.Raw)
	}
	alice.RoundTrip() // ToOthers: the sender's socket got nothing

	n := bobInbox.Expect("NewNotification")
	var note map[string]string
	_ = json.Unmarshal(n.Data, &note)
	if note["type"] != "mention" || note["room"] != "general" || !strings.Contains(note["title"], "alice") || note["id"] == "" {
		t.Fatalf("notification: %s", n.Raw)
	}
	aliceInbox.RoundTrip() // no self-notification

	// A user cannot read someone else's notifications.
	body, _ := json.Marshal(map[string]string{"socket_id": alice.SocketID, "channel_name": "private-user." + bobID})
	if status, _ := h.call(http.MethodPost, "/broadcasting/auth", aliceTok, "", string(body)); status != http.StatusForbidden {
		t.Fatalf("alice on bob's channel = %d", status)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("carol")
	expired, _ := middleware.SignHS256(testSecret, "x1", -time.Minute, map[string]any{"name": "old"})
	forged, _ := middleware.SignHS256([]byte("another-secret-another-secret"), "x2", time.Hour, map[string]any{"name": "eve"})
	cases := []struct {
		name, path, token, socket, body string
		status                          int
		code                            string
	}{
		{"empty", "/rooms/general/messages", tok, "", `{"message":"  "}`, 422, "empty_message"},
		{"10 KB", "/rooms/general/messages", tok, "", `{"message":"` + strings.Repeat("x", 10240) + `"}`, 422, "message_too_long"},
		{"over body limit", "/rooms/general/messages", tok, "", `{"message":"` + strings.Repeat("x", 20000) + `"}`, 413, "body_too_large"},
		{"not JSON", "/rooms/general/messages", tok, "", `hello`, 400, "bad_request"},
		{"unknown room", "/rooms/nope/messages", tok, "", `{"message":"hi"}`, 404, "unknown_room"},
		{"bad socket id", "/rooms/general/messages", tok, "abc", `{"message":"hi"}`, 400, "invalid_socket_id"},
		{"no token", "/rooms/general/messages", "", "", `{"message":"hi"}`, 401, "token_missing"},
		{"expired token", "/rooms/general/messages", expired, "", `{"message":"hi"}`, 401, "token_expired"},
		{"forged token", "/rooms/general/messages", forged, "", `{"message":"hi"}`, 401, "token_invalid"},
		{"refresh expired", "/token", expired, "", ``, 401, "token_expired"},
	}
	for _, c := range cases {
		status, out := h.call(http.MethodPost, c.path, c.token, c.socket, c.body)
		if status != c.status || out["error"] != c.code || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, out, c.status, c.code)
		}
	}

	// Unknown rooms cannot be joined either.
	c := wstest.Dial(t, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws?token="+tok, nil)
	body, _ := json.Marshal(map[string]string{"socket_id": c.SocketID, "channel_name": "presence-chat.nope"})
	if status, out := h.call(http.MethodPost, "/broadcasting/auth", tok, "", string(body)); status != http.StatusForbidden {
		t.Fatalf("auth unknown room = %d %v", status, out)
	}
	if f := c.Subscribe("presence-chat.nope", "", ""); f.Type != "subscription_error" {
		t.Fatalf("subscribe unknown room: %s", f.Raw)
	}
	// An expired token cannot open a connection.
	dead := wstest.DialRaw(t, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws?token="+expired, nil)
	if code := dead.ExpectClose(); code != 4009 {
		t.Fatalf("expired token handshake closed with %d, want 4009", code)
	}
}

func TestTokenRefreshKeepsTheUser(t *testing.T) {
	h := newHarness(t)
	tok, id := h.login("dave")
	status, out := h.call(http.MethodPost, "/token", tok, "", "")
	if status != http.StatusOK {
		t.Fatalf("refresh = %d %v", status, out)
	}
	if u := out["user"].(map[string]any); u["id"] != id || u["name"] != "dave" || out["token"] == "" {
		t.Fatalf("refresh returned %v", out)
	}
	status, out = h.call(http.MethodGet, "/rooms", "", "", "")
	if rooms, _ := out["rooms"].([]any); status != http.StatusOK || len(rooms) != len(DefaultRooms) {
		t.Fatalf("rooms = %d %v", status, out)
	}
}

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		text, name string
		want       bool
	}{
		{"hi @bob", "bob", true},
		{"hi @Bob!", "bob", true},
		{"@bob, look", "bob", true},
		{"hi @bobby", "bob", false},
		{"hi bob", "bob", false},
		{"ask @ana maria", "ana maria", true},
		{"@bobby and @bob", "bob", true},
	} {
		if got := mentions(c.text, c.name); got != c.want {
			t.Errorf("mentions(%q, %q) = %v", c.text, c.name, got)
		}
	}
	if got := excerpt("héllo world", 5); got != "héll…" {
		t.Errorf("excerpt = %q", got)
	}
}
