package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/plugin"
)

// The example end to end: two browsers-to-be on /ws, one POSTs a message,
// the other receives MessageSent and the sender does not.
func TestChatRoundTrip(t *testing.T) {
	cfg, err := plugin.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newApp(p))
	defer srv.Close()
	defer p.Shutdown(context.Background())

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	join := func() (*websocket.Conn, string) {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		var hello struct {
			Data struct {
				SocketID string `json:"socket_id"`
			} `json:"data"`
		}
		if err := ws.ReadJSON(&hello); err != nil {
			t.Fatal(err)
		}
		_ = ws.WriteJSON(map[string]any{"type": "subscribe", "data": map[string]string{"channel": "chat"}})
		var ok map[string]any
		if err := ws.ReadJSON(&ok); err != nil || ok["type"] != "subscription_succeeded" {
			t.Fatalf("subscribe: %v %v", ok, err)
		}
		return ws, hello.Data.SocketID
	}
	alice, aliceID := join()
	defer alice.Close()
	bob, _ := join()
	defer bob.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/messages", strings.NewReader(`{"name":"alice","message":"<b>hi</b>"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Socket-ID", aliceID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /messages = %d", resp.StatusCode)
	}

	var got struct {
		Type, Channel string
		Data          message
	}
	_ = bob.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := bob.ReadJSON(&got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "MessageSent" || got.Channel != "chat" || got.Data.Name != "alice" || got.Data.Message != "<b>hi</b>" {
		t.Fatalf("bob got %+v", got)
	}
	// alice was excluded: her next frame is the pong to her ping.
	_ = alice.WriteJSON(map[string]string{"type": "ping"})
	var next map[string]any
	_ = alice.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := alice.ReadJSON(&next); err != nil || next["type"] != "pong" {
		t.Fatalf("alice got %v (%v), want only her pong", next, err)
	}

	for _, body := range []string{`{"name":"a","message":""}`, `not json`, `{"name":"a","message":"` + strings.Repeat("x", 2001) + `"}`} {
		resp, err := http.Post(srv.URL+"/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("POST %.30q = %d, want 4xx", body, resp.StatusCode)
		}
	}
}
