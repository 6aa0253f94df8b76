//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one server message of the native protocol.
type Frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	Offset  uint64          `json:"offset"` // on channels with history
	Epoch   string          `json:"epoch"`
}

// Payload is the data of a published event: a sequence number and the
// publisher's send time (Unix nanoseconds).
type Payload struct {
	S uint64 `json:"s"`
	T int64  `json:"t"`
}

// eventName is the event the publishers emit.
const eventName = "Seq"

// codeNoClose stands for a connection that ended without a close frame
// (as browsers report it: 1006).
const codeNoClose = 1006

// srcIP spreads connections over a few loopback source addresses so that
// churn does not exhaust the ephemeral ports of one.
var srcIP atomic.Uint32

// dialer returns a WebSocket dialer bound to loopback source addresses.
func dialer() *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip := net.IPv4(127, 0, 0, byte(1+srcIP.Add(1)%4))
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
	}
}

// dialWS opens a native-protocol WebSocket at url.
func dialWS(ctx context.Context, d *websocket.Dialer, url string) (*websocket.Conn, error) {
	ws, resp, err := d.DialContext(ctx, url, http.Header{"Origin": {"http://127.0.0.1"}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	return ws, err
}

// sendSub writes a subscribe or unsubscribe frame for channel.
func sendSub(ws *websocket.Conn, typ, channel string) error {
	return sendSubSince(ws, typ, channel, 0, "")
}

// sendSubSince subscribes with a recovery position when epoch is set.
func sendSubSince(ws *websocket.Conn, typ, channel string, offset uint64, epoch string) error {
	since := ""
	if epoch != "" {
		since = `,"since":{"offset":` + strconv.FormatUint(offset, 10) + `,"epoch":` + strconv.Quote(epoch) + `}`
	}
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return ws.WriteMessage(websocket.TextMessage,
		[]byte(`{"type":"`+typ+`","data":{"channel":`+strconv.Quote(channel)+since+`}}`))
}

// closeCode is the close code a read error carries, codeNoClose if none.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return codeNoClose
}

// publishBody is the POST /publish body of one event.
func publishBody(channel string, seq uint64, at time.Time) []byte {
	b := []byte(`{"channel":` + strconv.Quote(channel) + `,"event":"` + eventName + `","data":{"s":`)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, at.UnixNano(), 10)
	return append(b, "}}"...)
}

// parseEvent decodes an event frame; ok is false for any other frame.
func parseEvent(f *Frame) (p Payload, ok bool) {
	if f.Type != eventName || json.Unmarshal(f.Data, &p) != nil || p.S == 0 {
		return p, false
	}
	return p, true
}

// httpClient is the publishers' client: many connections allowed, so that
// requests stalled by a fault do not hold back the next ones.
func httpClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}
