package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

const room = "presence-chat.room1"

// noGrace turns the presence grace period off, for tests of when a
// departure is announced.
var noGrace = map[string]string{"BROADCAST_PRESENCE_GRACE": "0"}

func TestPresencePerUserRules(t *testing.T) {
	t.Parallel()
	s := newStack(t, noGrace) // asserts when member_removed goes out
	aliceTab1 := s.dial("1")
	if f := aliceTab1.Subscribe(room, "", ""); strings.Join(members(t, f), ",") != "1" {
		t.Fatalf("first member: %s", f.Raw)
	}
	bob := s.dial("2")
	f := bob.Subscribe(room, "", "")
	if strings.Join(members(t, f), ",") != "1,2" {
		t.Fatalf("bob sees %s", f.Raw)
	}
	if !strings.Contains(f.Raw, `"user_info":{"name":"user1"}`) {
		t.Fatalf("member info missing: %s", f.Raw)
	}
	added := aliceTab1.Expect("member_added")
	if !strings.Contains(string(added.Data), `"user_id":"2"`) || !strings.Contains(string(added.Data), `"name":"user2"`) {
		t.Fatalf("member_added: %s", added.Raw)
	}
	bob.RoundTrip() // the joiner never gets its own member_added

	// A second tab of alice is not a new member.
	aliceTab2 := s.dial("1")
	if f := aliceTab2.Subscribe(room, "", ""); strings.Join(members(t, f), ",") != "1,2" {
		t.Fatalf("second tab: %s", f.Raw)
	}
	bob.RoundTrip()
	if got := len(s.b.GetClients(room)); got != 3 {
		t.Fatalf("GetClients = %d sockets, want 3", got)
	}

	// Closing one tab removes nobody; closing the last one removes alice.
	aliceTab1.WS.Close()
	wstest.Eventually(t, "tab closed", func() bool { return len(s.b.GetClients(room)) == 2 })
	bob.RoundTrip()
	aliceTab2.Send(map[string]any{"type": "unsubscribe", "data": map[string]string{"channel": room}})
	removed := bob.Expect("member_removed")
	if string(removed.Data) != `{"user_id":"1"}` {
		t.Fatalf("member_removed: %s", removed.Raw)
	}
}

func TestPresenceConcurrentJoinsAndLeaves(t *testing.T) {
	t.Parallel()
	s := newStack(t, noGrace) // asserts when member_removed goes out
	const users, tabs = 8, 3
	clients := make([][]*wstest.Client, users)
	for u := range users {
		for range tabs {
			clients[u] = append(clients[u], s.dial(fmt.Sprint(u+1)))
		}
	}
	// Every tab joins at once; only the test's goroutine may stop the test.
	var wg sync.WaitGroup
	for _, cs := range clients {
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := join(c, room); err != nil {
					t.Errorf("join of %s: %v", c.SocketID, err)
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ms, err := s.p.Broadcaster().Members(context.Background(), room)
	if err != nil || len(ms) != users {
		t.Fatalf("members = %v (%v), want %d", ms, err, users)
	}
	if n := len(s.b.GetClients(room)); n != users*tabs {
		t.Fatalf("GetClients = %d, want %d", n, users*tabs)
	}
	// Every user but the first leaves, tabs closing concurrently.
	for u := 1; u < users; u++ {
		for _, c := range clients[u] {
			wg.Add(1)
			go func() { defer wg.Done(); c.WS.Close() }()
		}
	}
	wg.Wait()
	wstest.Eventually(t, "leaves processed", func() bool { return len(s.b.GetClients(room)) == tabs })
	ms, _ = s.p.Broadcaster().Members(context.Background(), room)
	if len(ms) != 1 || ms[0].UserID != "1" {
		t.Fatalf("members after leaves = %v", ms)
	}
	// User 1's tabs saw each other user join at most once and leave once.
	for _, c := range clients[0] {
		added, removed := map[string]int{}, map[string]int{}
		c.Send(`{"type":"ping"}`)
		for {
			f := c.Read()
			if f.Type == "pong" {
				break
			}
			var d struct {
				UserID string `json:"user_id"`
			}
			_ = json.Unmarshal(f.Data, &d)
			switch f.Type {
			case "member_added":
				added[d.UserID]++
			case "member_removed":
				removed[d.UserID]++
			}
		}
		for id, n := range added {
			if n > 1 || id == "1" {
				t.Errorf("member_added for %s seen %d times", id, n)
			}
		}
		for u := 2; u <= users; u++ {
			if removed[fmt.Sprint(u)] != 1 {
				t.Errorf("member_removed for %d seen %d times", u, removed[fmt.Sprint(u)])
			}
		}
	}
}

// join subscribes c to channel and checks the answer, returning what went
// wrong instead of failing the test, for goroutines other than the test's.
func join(c *wstest.Client, channel string) error {
	if err := c.WS.WriteJSON(map[string]any{"type": "subscribe", "data": map[string]string{"channel": channel}}); err != nil {
		return fmt.Errorf("send subscribe: %w", err)
	}
	_ = c.WS.SetReadDeadline(time.Now().Add(wstest.ReadTimeout))
	_, data, err := c.WS.ReadMessage()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	var f wstest.Frame
	if err := json.Unmarshal(data, &f); err != nil || f.Type != "subscription_succeeded" {
		return fmt.Errorf("answer %s, want subscription_succeeded", data)
	}
	return nil
}

func TestClientEvents(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	alice, bob, carol := s.dial("1"), s.dial("2"), s.dial("3")
	alice.Subscribe(room, "", "")
	bob.Subscribe(room, "", "")
	alice.Expect("member_added")
	alice.Send(map[string]any{"type": "client-typing", "channel": room, "data": map[string]bool{"typing": true}})
	w := bob.Expect("client-typing")
	if w.UserID != "1" || string(w.Data) != `{"typing":true}` || w.Channel != room {
		t.Fatalf("whisper: %s", w.Raw)
	}
	alice.RoundTrip() // never echoed back

	// carol is not subscribed.
	carol.Send(map[string]any{"type": "client-typing", "channel": room, "data": map[string]bool{}})
	if f := carol.Expect("error"); f.Code() != websocket.CodeNotSubscribed {
		t.Fatalf("non-member whisper: %s", f.Raw)
	}
	// A flood hits the per-connection limit (10/s by default).
	limited := 0
	for range 30 {
		alice.Send(map[string]any{"type": "client-flood", "channel": room, "data": 1})
	}
	alice.Send(`{"type":"ping"}`)
	for {
		f := alice.Read()
		if f.Type == "pong" {
			break
		}
		if f.Type == "error" && f.Code() == websocket.CodeRateLimited {
			limited++
		}
	}
	if limited < 15 {
		t.Fatalf("only %d of 30 flood events were rate limited", limited)
	}
	relayed := 0
	bob.Send(`{"type":"ping"}`)
	for f := bob.Read(); f.Type != "pong"; f = bob.Read() {
		relayed++
	}
	if relayed+limited != 30 {
		t.Fatalf("bob got %d flood events and %d were limited, want 30 in all", relayed, limited)
	}
}

func TestClientEventsDisabled(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{"BROADCAST_CLIENT_EVENTS": "false"})
	alice := s.dial("1")
	alice.Subscribe("private-user.1", "", "")
	alice.Send(map[string]any{"type": "client-x", "channel": "private-user.1", "data": 1})
	if f := alice.Expect("error"); f.Code() != websocket.CodeClientEvent {
		t.Fatalf("disabled: %s", f.Raw)
	}
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	t.Parallel()
	clock := &wstest.Clock{}
	s := newStack(t, nil, plugin.WithServerOptions(websocket.WithClock(clock)))
	base := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?token="

	// A connection whose token expires is told so and closed.
	short := wstest.Dial(t, base+s.token("1", time.Hour), nil)
	short.Subscribe("private-user.1", "", "")
	clock.Advance(time.Hour + time.Second)
	if f := short.Expect("error"); f.Code() != websocket.CodeTokenExpired {
		t.Fatalf("expiry frame: %s", f.Raw)
	}
	if code := short.ExpectClose(); code != websocket.CodeTokenExpired {
		t.Fatalf("close code %d, want 4407", code)
	}

	// A fresher token for the same user keeps it open past the first
	// token's expiry, until the fresher one expires.
	// (The clock is an hour ahead of the tokens' issuer now.)
	refreshed := wstest.Dial(t, base+s.token("2", 2*time.Hour), nil)
	refreshed.Subscribe("private-user.2", "", "")
	refreshed.Send(map[string]any{"type": "refresh", "data": map[string]string{"token": s.token("3", 5*time.Hour)}})
	if f := refreshed.Expect("error"); f.Code() != websocket.CodeUnauthorized {
		t.Fatalf("refresh as another user: %s", f.Raw)
	}
	refreshed.Send(map[string]any{"type": "refresh", "data": map[string]string{"token": s.token("2", 5*time.Hour)}})
	refreshed.Expect("refreshed")
	clock.Advance(90 * time.Minute) // past the first token's expiry
	refreshed.RoundTrip()
	ids := s.b.GetClients("private-user.2")
	sort.Strings(ids)
	if len(ids) != 1 || ids[0] != refreshed.SocketID {
		t.Fatalf("subscription lost after refresh: %v", ids)
	}
	clock.Advance(3 * time.Hour) // past the fresher token's expiry
	if f := refreshed.Expect("error"); f.Code() != websocket.CodeTokenExpired {
		t.Fatalf("expiry of the refreshed token: %s", f.Raw)
	}
}
