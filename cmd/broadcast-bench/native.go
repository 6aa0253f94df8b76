//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
)

// nativeAdapter speaks Velocity's native protocol (/ws) and publishes
// through the benchserver's POST /publish.
type nativeAdapter struct {
	api   string // http://host:port of the benchserver
	event string
}

// Name, WireChannel, Hello, SlowCode, Subscribe, Decode, Publish and
// ServerStats implement Adapter.
func (a *nativeAdapter) Name() string                   { return "native" }
func (a *nativeAdapter) WireChannel(name string) string { return name }
func (a *nativeAdapter) Hello() [][]byte                { return nil }
func (a *nativeAdapter) SlowCode() int                  { return 4408 }

func (a *nativeAdapter) Subscribe(_ int, wire string) []byte {
	return []byte(`{"type":"subscribe","data":{"channel":"` + wire + `"}}`)
}

func (a *nativeAdapter) Decode(msg []byte, fn func(Frame)) {
	typ, ok := stringField(msg, "type")
	if !ok {
		fn(Frame{Kind: FrameOther})
		return
	}
	ch, _ := stringField(msg, "channel")
	switch string(typ) {
	case "connected":
		fn(Frame{Kind: FrameConnected, Ref: -1})
	case "subscription_succeeded":
		f := Frame{Kind: FrameSubOK, Channel: ch, Ref: -1}
		subStream(msg, &f)
		fn(f)
	case "error", "subscription_error":
		fn(Frame{Kind: FrameError, Channel: ch, Ref: -1, Err: msg})
	case "pong", "member_added", "member_removed":
		fn(Frame{Kind: FrameOther})
	default:
		i := valueAt(msg, "data")
		if i < 0 {
			fn(Frame{Kind: FrameOther})
			return
		}
		fn(Frame{Kind: FrameEvent, Channel: ch, Ref: -1, Data: msg[i:]})
	}
}

// subStream fills f with the stream position and recovered flag of a
// subscription_succeeded frame, when it has them. Acknowledgements are
// rare (one per subscription), so this costs nothing on the event path.
func subStream(msg []byte, f *Frame) {
	if e, ok := stringField(msg, "epoch"); ok {
		f.Epoch = e
		if o, ok := intField(msg, "offset"); ok && o > 0 {
			f.Offset = uint64(o)
		}
	}
	if i := valueAt(msg, "recovered"); i >= 0 {
		f.Recovered = 1
		if i < len(msg) && msg[i] == 't' {
			f.Recovered = 2
		}
	}
}

func (a *nativeAdapter) Publish(ctx context.Context, hc *http.Client, batch []Outgoing, buf *bytes.Buffer) error {
	buf.Reset()
	if len(batch) > 1 {
		buf.WriteByte('[')
	}
	for i, m := range batch {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"channel":"`)
		buf.WriteString(m.Channel)
		buf.WriteString(`","event":"`)
		buf.WriteString(a.event)
		buf.WriteString(`","data":`)
		buf.Write(m.Data)
		buf.WriteByte('}')
	}
	if len(batch) > 1 {
		buf.WriteByte(']')
	}
	return post(ctx, hc, a.api+"/publish", nil, buf.Bytes(), nil)
}

func (a *nativeAdapter) ServerStats(ctx context.Context, hc *http.Client) map[string]any {
	var m map[string]any
	if body := get(ctx, hc, a.api+"/stats"); body == nil || json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}
