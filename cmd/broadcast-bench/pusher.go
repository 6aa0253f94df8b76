//go:build linux

package main

import "bytes"

// pusherAdapter speaks the Pusher Channels protocol v7 to our server's
// {prefix}/app/{key} endpoint, as pusher-js does, and publishes through
// the benchserver's POST /publish like the native adapter: the run
// measures what the Pusher wire costs over the native one.
type pusherAdapter struct {
	nativeAdapter
}

// Name, Hello, SlowCode, Subscribe and Decode implement Adapter;
// WireChannel, Publish and ServerStats are the native adapter's.
func (a *pusherAdapter) Name() string    { return "pusher" }
func (a *pusherAdapter) Hello() [][]byte { return nil }

// SlowCode is what a slow consumer's close code becomes for Pusher
// clients (4100: reconnect after a backoff).
func (a *pusherAdapter) SlowCode() int { return 4100 }

func (a *pusherAdapter) Subscribe(_ int, wire string) []byte {
	return []byte(`{"event":"pusher:subscribe","data":{"channel":"` + wire + `"}}`)
}

var pusherPong = []byte(`{"event":"pusher:pong","data":{}}`)

// Decode handles one Pusher frame. An event's data is a JSON string
// holding the payload; it is unescaped in place, in msg, which the
// reader does not look at again.
func (a *pusherAdapter) Decode(msg []byte, fn func(Frame)) {
	ev, ok := stringField(msg, "event")
	if !ok {
		fn(Frame{Kind: FrameOther})
		return
	}
	ch, _ := stringField(msg, "channel")
	switch string(ev) {
	case "pusher:connection_established":
		fn(Frame{Kind: FrameConnected, Ref: -1})
	case "pusher_internal:subscription_succeeded":
		fn(Frame{Kind: FrameSubOK, Channel: ch, Ref: -1})
	case "pusher:error", "pusher:subscription_error":
		fn(Frame{Kind: FrameError, Channel: ch, Ref: -1, Err: msg})
	case "pusher:ping":
		fn(Frame{Kind: FramePing, Reply: pusherPong})
	case "pusher:pong", "pusher_internal:member_added", "pusher_internal:member_removed":
		fn(Frame{Kind: FrameOther})
	default:
		data, ok := unquoteInPlace(msg, valueAt(msg, "data"))
		if !ok {
			fn(Frame{Kind: FrameOther})
			return
		}
		fn(Frame{Kind: FrameEvent, Channel: ch, Ref: -1, Data: data})
	}
}

// unquoteInPlace decodes the JSON string starting at b[i] into b itself
// and returns it. It handles the escapes a JSON encoder writes for the
// benchmark's payloads (\" \\ \/); any other escape reports false.
func unquoteInPlace(b []byte, i int) ([]byte, bool) {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return nil, false
	}
	start, w := i+1, i+1
	for r := i + 1; r < len(b); r++ {
		c := b[r]
		switch {
		case c == '"':
			return b[start:w], true
		case c == '\\':
			if r+1 >= len(b) || bytes.IndexByte([]byte(`"\/`), b[r+1]) < 0 {
				return nil, false
			}
			r++
			c = b[r]
		}
		b[w] = c
		w++
	}
	return nil, false
}
