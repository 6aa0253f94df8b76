//go:build linux

package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
)

// centrifugoAdapter speaks Centrifugo's JSON client protocol (v2) over
// /connection/websocket and publishes through its HTTP API. Subscription
// ids are ref+2 (id 1 is connect).
type centrifugoAdapter struct {
	api string // http://host:port
	key string // http_api.key
	ns  string // namespace of the benchmark's channels
}

// Name, WireChannel, Hello, SlowCode, Subscribe, Decode, Publish and
// ServerStats implement Adapter.
func (a *centrifugoAdapter) Name() string                   { return "centrifugo" }
func (a *centrifugoAdapter) WireChannel(name string) string { return a.ns + ":" + name }
func (a *centrifugoAdapter) SlowCode() int                  { return 3008 }

func (a *centrifugoAdapter) Hello() [][]byte { return [][]byte{[]byte(`{"id":1,"connect":{}}`)} }

func (a *centrifugoAdapter) Subscribe(ref int, wire string) []byte {
	return []byte(`{"id":` + strconv.Itoa(ref+2) + `,"subscribe":{"channel":"` + wire + `"}}`)
}

var emptyObject = []byte("{}")

// Decode handles the several newline-separated replies Centrifugo may put
// in one WebSocket message.
func (a *centrifugoAdapter) Decode(msg []byte, fn func(Frame)) {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		a.decodeOne(line, fn)
	}
}

func (a *centrifugoAdapter) decodeOne(line []byte, fn func(Frame)) {
	switch {
	case bytes.Equal(line, emptyObject):
		fn(Frame{Kind: FramePing, Ref: -1, Reply: emptyObject})
	case bytes.HasPrefix(line, []byte(`{"push":`)):
		ch, _ := stringField(line, "channel")
		p := valueAt(line, "pub")
		if p < 0 {
			fn(Frame{Kind: FrameOther})
			return
		}
		d := valueAt(line[p:], "data")
		if d < 0 {
			fn(Frame{Kind: FrameOther})
			return
		}
		fn(Frame{Kind: FrameEvent, Channel: ch, Ref: -1, Data: line[p+d:]})
	default:
		id, ok := intField(line, "id")
		switch {
		case valueAt(line, "error") >= 0:
			fn(Frame{Kind: FrameError, Ref: int(id) - 2, Err: line})
		case ok && id == 1:
			fn(Frame{Kind: FrameConnected, Ref: -1})
		case ok && id >= 2:
			fn(Frame{Kind: FrameSubOK, Ref: int(id) - 2})
		default:
			fn(Frame{Kind: FrameOther})
		}
	}
}

func (a *centrifugoAdapter) Publish(ctx context.Context, hc *http.Client, batch []Outgoing, buf *bytes.Buffer) error {
	buf.Reset()
	path := "/api/publish"
	if len(batch) > 1 {
		path = "/api/batch"
		buf.WriteString(`{"commands":[`)
	}
	for i, m := range batch {
		if i > 0 {
			buf.WriteByte(',')
		}
		if len(batch) > 1 {
			buf.WriteString(`{"publish":`)
		}
		buf.WriteString(`{"channel":"`)
		buf.WriteString(m.Channel)
		buf.WriteString(`","data":`)
		buf.Write(m.Data)
		buf.WriteByte('}')
		if len(batch) > 1 {
			buf.WriteByte('}')
		}
	}
	if len(batch) > 1 {
		buf.WriteString(`]}`)
	}
	hdr := map[string]string{"X-API-Key": a.key}
	return post(ctx, hc, a.api+path, hdr, buf.Bytes(), func(ans []byte) bool {
		return bytes.Contains(ans, []byte(`"error"`))
	})
}

// ServerStats reads Centrifugo's Prometheus metrics (prometheus.enabled)
// for the disconnects of readers that do not keep up: 3008 (queue over
// client.queue_max_size) and 3009 (a write that did not finish within
// websocket.write_timeout, 1 s by default, which is what a full socket
// usually hits first).
func (a *centrifugoAdapter) ServerStats(ctx context.Context, hc *http.Client) map[string]any {
	body := get(ctx, hc, a.api+"/metrics")
	if body == nil {
		return nil
	}
	const m = "centrifugo_client_num_server_disconnects"
	return map[string]any{"slow_closed": metricSum(body, m, `code="3008"`) + metricSum(body, m, `code="3009"`)}
}

// metricSum adds the values of a Prometheus text metric's samples whose
// labels contain label.
func metricSum(text []byte, name, label string) float64 {
	var sum float64
	for _, line := range bytes.Split(text, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(name+"{")) || !bytes.Contains(line, []byte(label)) {
			continue
		}
		if i := bytes.LastIndexByte(line, ' '); i > 0 {
			v, err := strconv.ParseFloat(string(line[i+1:]), 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum
}
