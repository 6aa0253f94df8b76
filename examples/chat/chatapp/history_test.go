package chatapp

import (
	"fmt"
	"testing"
)

// A room remembers its messages: GET /rooms/{room}/messages answers the
// last ones, oldest first, including those sent while nobody was
// subscribed; other rooms keep their own.
func TestRoomHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	token, _ := h.login("Ann")
	for i := range 3 {
		if status, out := h.call("POST", "/rooms/general/messages", token, "", fmt.Sprintf(`{"message":"hello %d"}`, i)); status != 201 {
			t.Fatalf("send %d: %d %v", i, status, out)
		}
	}
	status, out := h.call("GET", "/rooms/general/messages", token, "", "")
	msgs, _ := out["messages"].([]any)
	if status != 200 || len(msgs) != 3 {
		t.Fatalf("history: %d %v", status, out)
	}
	for i, m := range msgs {
		if got := m.(map[string]any)["message"]; got != fmt.Sprintf("hello %d", i) {
			t.Fatalf("message %d is %v", i, got)
		}
	}
	if _, out := h.call("GET", "/rooms/general/messages?limit=2", token, "", ""); len(out["messages"].([]any)) != 2 {
		t.Fatalf("limit 2: %v", out)
	}
	if _, out := h.call("GET", "/rooms/random/messages", token, "", ""); len(out["messages"].([]any)) != 0 {
		t.Fatalf("another room: %v", out)
	}
	for _, bad := range []struct {
		path, token string
		status      int
	}{
		{"/rooms/general/messages", "", 401},
		{"/rooms/nowhere/messages", token, 404},
		{"/rooms/general/messages?limit=0", token, 400},
		{"/rooms/general/messages?limit=1000", token, 400},
	} {
		if status, out := h.call("GET", bad.path, bad.token, "", ""); status != bad.status {
			t.Fatalf("GET %s: %d %v, want %d", bad.path, status, out, bad.status)
		}
	}
}
