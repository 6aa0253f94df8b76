// Package wstest is a native-protocol WebSocket client for tests: it
// dials a real server, reads the connected frame and offers helpers to
// send, expect frames and wait for close codes. It fails the test instead
// of returning errors, and bounds every read to a few seconds.
package wstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ReadTimeout bounds every read of a test client.
const ReadTimeout = 5 * time.Second

// Client is a connected native-protocol client.
type Client struct {
	t        testing.TB
	WS       *websocket.Conn
	SocketID string
}

// Frame is a server frame.
type Frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	// Offset and Epoch are an event's stream position on a channel with
	// history.
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
	Raw    string `json:"-"`
}

// Position is the stream position in a subscription_succeeded or history
// frame's data.
type Position struct {
	Offset    uint64 `json:"offset"`
	Epoch     string `json:"epoch"`
	Recovered *bool  `json:"recovered"`
}

// Position returns the stream position of f's data.
func (f Frame) Position() Position {
	var p Position
	_ = json.Unmarshal(f.Data, &p)
	return p
}

// Code returns data.code of an error or subscription_error frame.
func (f Frame) Code() int {
	var d struct {
		Code int `json:"code"`
	}
	_ = json.Unmarshal(f.Data, &d)
	return d.Code
}

// DialRaw connects to url without reading anything.
func DialRaw(t testing.TB, url string, hdr http.Header) *Client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &Client{t: t, WS: ws}
}

// Dial connects to url and waits for the connected frame.
func Dial(t testing.TB, url string, hdr http.Header) *Client {
	t.Helper()
	c := DialRaw(t, url, hdr)
	f := c.Expect("connected")
	var d struct {
		SocketID string `json:"socket_id"`
	}
	_ = json.Unmarshal(f.Data, &d)
	c.SocketID = d.SocketID
	return c
}

// Send writes v as JSON (a string is sent verbatim).
func (c *Client) Send(v any) {
	c.t.Helper()
	var err error
	if s, ok := v.(string); ok {
		err = c.WS.WriteMessage(websocket.TextMessage, []byte(s))
	} else {
		err = c.WS.WriteJSON(v)
	}
	if err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// Read returns the next frame.
func (c *Client) Read() Frame {
	c.t.Helper()
	f, err := c.TryRead()
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// TryRead returns the next frame, or an error instead of failing the
// test: for goroutines other than the test's, which must not call
// t.Fatal.
func (c *Client) TryRead() (Frame, error) {
	_ = c.WS.SetReadDeadline(time.Now().Add(ReadTimeout))
	_, data, err := c.WS.ReadMessage()
	if err != nil {
		return Frame{}, fmt.Errorf("read: %w", err)
	}
	var f Frame
	if err := json.Unmarshal(data, &f); err != nil {
		return Frame{}, fmt.Errorf("server sent invalid JSON %q: %w", data, err)
	}
	f.Raw = string(data)
	return f, nil
}

// Expect reads the next frame and checks its type.
func (c *Client) Expect(typ string) Frame {
	c.t.Helper()
	f := c.Read()
	if f.Type != typ {
		c.t.Fatalf("got %s, want a %q frame", f.Raw, typ)
	}
	return f
}

// Subscribe sends a subscribe frame and returns the answer.
func (c *Client) Subscribe(channel, auth, channelData string) Frame {
	c.t.Helper()
	d := map[string]string{"channel": channel}
	if auth != "" {
		d["auth"] = auth
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.Send(map[string]any{"type": "subscribe", "data": d})
	return c.Read()
}

// Join subscribes to channel (one needing no auth), fails the test
// unless that succeeded, and proves with a round trip that the server is
// done with the join: frames are handled in order, so the pong proves the
// server has added the connection to its hub and published its
// member_added. It returns the subscription_succeeded frame.
func (c *Client) Join(channel string) Frame {
	c.t.Helper()
	f := c.Subscribe(channel, "", "")
	if f.Type != "subscription_succeeded" {
		c.t.Fatalf("subscribe %s: %s", channel, f.Raw)
	}
	c.RoundTrip()
	return f
}

// UserOf returns the user_id in f's data: the member of a member_added
// or member_removed event.
func UserOf(t testing.TB, f Frame) string {
	t.Helper()
	var d struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("user of %s: %v", f.Raw, err)
	}
	return d.UserID
}

// RoundTrip pings and expects the pong: everything sent before has been
// processed, and nothing else was queued for this client.
func (c *Client) RoundTrip() {
	c.t.Helper()
	c.Send(`{"type":"ping"}`)
	c.Expect("pong")
}

// ExpectClose reads until the server closes and returns the close code.
func (c *Client) ExpectClose() int {
	c.t.Helper()
	for {
		_ = c.WS.SetReadDeadline(time.Now().Add(ReadTimeout))
		_, _, err := c.WS.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		c.t.Fatalf("connection ended without a close frame: %v", err)
	}
}

// Eventually polls cond until it holds, failing after 5 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, 5*time.Second, what, cond)
}

// EventuallyWithin polls cond until it holds, failing after d.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
