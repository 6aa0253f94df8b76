//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// FrameKind classifies a decoded server frame.
type FrameKind uint8

// Frame kinds reported by an Adapter's Decode.
const (
	FrameOther     FrameKind = iota // ignored
	FrameConnected                  // handshake done
	FrameSubOK                      // a subscription is confirmed
	FrameEvent                      // a published message
	FramePing                       // the server wants Reply sent back
	FrameError                      // the server refused something
)

// Frame is one server message as an Adapter understands it. Byte slices
// alias the read buffer and are only valid during the callback.
type Frame struct {
	Kind    FrameKind
	Channel []byte // wire channel name (events, native SubOK)
	Ref     int    // subscription index for SubOK when the protocol answers by id; -1 otherwise
	Data    []byte // event payload
	Reply   []byte // for FramePing
	Err     []byte // for FrameError
	// Stream position, on channels with history (native protocol): the
	// offset of an event (decoded by the s5 adapter only; 0 otherwise),
	// and in a SubOK the channel's offset, its epoch (nil: the channel
	// keeps no history) and the answer to a since (0 none, 1 false, 2 true).
	Offset    uint64
	Epoch     []byte
	Recovered int8
}

// Adapter speaks one server's protocol: how to connect, subscribe, read
// and publish. Adding a protocol means adding an Adapter.
type Adapter interface {
	// Name is the -target value.
	Name() string
	// WireChannel maps a benchmark channel name to the server's.
	WireChannel(name string) string
	// Hello returns the frames to send right after the WebSocket opens.
	Hello() [][]byte
	// Subscribe returns the frame subscribing to the wire channel; ref is
	// the connection's index of the subscription.
	Subscribe(ref int, wire string) []byte
	// Decode calls fn for each frame in one WebSocket message.
	Decode(msg []byte, fn func(Frame))
	// SlowCode is the close code of a slow-consumer disconnect.
	SlowCode() int
	// Publish sends messages, in order, in one HTTP request.
	Publish(ctx context.Context, hc *http.Client, batch []Outgoing, buf *bytes.Buffer) error
	// ServerStats returns the server's own counters, or nil.
	ServerStats(ctx context.Context, hc *http.Client) map[string]any
}

// Outgoing is one message to publish.
type Outgoing struct {
	Channel string // wire name
	Data    []byte // JSON object
}

// newAdapter builds the adapter named by cfg.Target.
func newAdapter(cfg *Config) (Adapter, error) {
	switch cfg.Target {
	case "native":
		if cfg.Scenario == "s5" {
			return &streamAdapter{nativeAdapter{api: cfg.API, event: "Bench"}}, nil
		}
		return &nativeAdapter{api: cfg.API, event: "Bench"}, nil
	case "pusher":
		return &pusherAdapter{nativeAdapter{api: cfg.API, event: "Bench"}}, nil
	case "centrifugo":
		return &centrifugoAdapter{api: cfg.API, key: cfg.APIKey, ns: "bench"}, nil
	}
	return nil, fmt.Errorf("unknown -target %q (want native, pusher or centrifugo)", cfg.Target)
}

// post sends body and fails on a non-2xx status or when bad reports an
// error inside the answer.
func post(ctx context.Context, hc *http.Client, url string, hdr map[string]string, body []byte, bad func([]byte) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: HTTP %d: %.200s", resp.StatusCode, ans)
	}
	if bad != nil && bad(ans) {
		return fmt.Errorf("publish: error in answer: %.200s", ans)
	}
	return nil
}

// get fetches url and returns its body (at most 16 MiB), or nil when the
// request fails or does not answer 200. Server statistics are best effort.
func get(ctx context.Context, hc *http.Client, url string) []byte {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil
	}
	return body
}
