package plugin_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/internal/wstest"
)

// endpoint is one of the plugin's WebSocket endpoints, with the text of
// the first frame its clients get.
type endpoint struct {
	name, path, hello string
	ping              func(extra string) string // a frame the server answers
	pong              string
}

var endpoints = []endpoint{
	{"native", "/ws", `"connected"`,
		func(x string) string { return `{"type":"ping","x":"` + x + `"}` }, `"pong"`},
	{"pusher", "/app/velocity-key?protocol=7", `"pusher:connection_established"`,
		func(x string) string { return `{"event":"pusher:ping","data":"` + x + `"}` }, `"pusher:pong"`},
}

// rfcCase sends something to a fresh connection; want is the close code
// the client must get.
type rfcCase struct {
	name string
	send func(r *wstest.Raw, ep endpoint)
	want int
}

func rfcCases() []rfcCase {
	ping := func(ep endpoint) []byte { return []byte(ep.ping("x")) }
	cases := []rfcCase{
		{"unmasked frame", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.FIN|wstest.OpText, false, ping(ep)) }, 1002},
		{"rsv1", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.FIN|wstest.RSV1|wstest.OpText, true, ping(ep)) }, 1002},
		{"rsv2", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.FIN|wstest.RSV2|wstest.OpText, true, ping(ep)) }, 1002},
		{"rsv3 on a ping", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.FIN|wstest.RSV3|wstest.OpPing, true, nil) }, 1002},
		{"ping over 125 bytes", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpPing, make([]byte, 126)) }, 1002},
		{"pong over 125 bytes", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpPong, make([]byte, 126)) }, 1002},
		{"close over 125 bytes", func(r *wstest.Raw, ep endpoint) {
			r.Send(wstest.OpClose, wstest.CloseFrame(1000, strings.Repeat("a", 124)))
		}, 1002},
		{"fragmented ping", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.OpPing, true, []byte("a")) }, 1002},
		{"fragmented close", func(r *wstest.Raw, ep endpoint) { r.Frame(wstest.OpClose, true, wstest.CloseFrame(1000, "")) }, 1002},
		{"continuation without a start", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpContinuation, ping(ep)) }, 1002},
		{"new message inside a fragmented one", func(r *wstest.Raw, ep endpoint) {
			r.Frame(wstest.OpText, true, []byte(`{"ty`))
			r.Send(wstest.OpText, ping(ep))
		}, 1002},
		{"invalid UTF-8", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpText, []byte(ep.ping("\xff"))) }, 1007},
		{"invalid UTF-8 across fragments", func(r *wstest.Raw, ep endpoint) {
			p := ep.ping("\xe2\x82a") // "€" cut short by an "a" in the next fragment
			i := strings.Index(p, "\x82") + 1
			r.Frame(wstest.OpText, true, []byte(p[:i]))
			r.Send(wstest.OpContinuation, []byte(p[i:]))
		}, 1007},
		{"invalid UTF-8 in an unfinished message", func(r *wstest.Raw, ep endpoint) {
			// No final fragment ever comes: the server fails at once.
			r.Frame(wstest.OpText, true, []byte(ep.ping("\xc0\xaf")))
		}, 1007},
		{"close with a 1-byte payload", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpClose, []byte{0x03}) }, 1002},
		{"close reason not UTF-8", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpClose, wstest.CloseFrame(1000, "ok\xff")) }, 1007},
		{"empty close", func(r *wstest.Raw, ep endpoint) { r.Send(wstest.OpClose, nil) }, 1000},
	}
	for _, op := range []byte{3, 7, 0xB, 0xF} {
		cases = append(cases, rfcCase{fmt.Sprintf("opcode %#x", op), func(r *wstest.Raw, ep endpoint) { r.Send(op, []byte("x")) }, 1002})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535} {
		cases = append(cases, rfcCase{fmt.Sprintf("close code %d", code), func(r *wstest.Raw, ep endpoint) {
			r.Send(wstest.OpClose, wstest.CloseFrame(code, ""))
		}, 1002})
	}
	for _, code := range []int{1000, 1001, 1003, 1011, 3000, 4999} {
		cases = append(cases, rfcCase{fmt.Sprintf("valid close %d", code), func(r *wstest.Raw, ep endpoint) {
			r.Send(wstest.OpClose, wstest.CloseFrame(code, "bye"))
		}, code})
	}
	return cases
}

// Frames that break RFC 6455 fail the connection with the close code of
// RFC 6455 §7.4.1, on both endpoints; a valid close is echoed. Another
// client of the same server is not disturbed: it still gets events.
func TestRFC6455ClientFrames(t *testing.T) {
	t.Parallel()
	for _, ep := range endpoints {
		for _, tc := range rfcCases() {
			t.Run(ep.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newStack(t, nil)
				observer := s.dial("")
				if f := observer.Subscribe("news", "", ""); f.Type != "subscription_succeeded" {
					t.Fatalf("subscribe: %s", f.Raw)
				}
				r := wstest.DialRawTCP(t, "ws"+strings.TrimPrefix(s.srv.URL, "http")+ep.path)
				r.ExpectText(ep.hello)
				tc.send(r, ep)
				if code := r.ExpectClose(); code != tc.want {
					t.Fatalf("close code %d, want %d", code, tc.want)
				}
				if err := s.b.Channel("news").Emit("after", 1); err != nil {
					t.Fatal(err)
				}
				observer.Expect("after")
			})
		}
	}
}

// What RFC 6455 allows is accepted: control frames between the fragments
// of a message, and a character split across two fragments.
func TestRFC6455FragmentsAccepted(t *testing.T) {
	t.Parallel()
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, nil)
			r := wstest.DialRawTCP(t, "ws"+strings.TrimPrefix(s.srv.URL, "http")+ep.path)
			r.ExpectText(ep.hello)
			p := ep.ping("€")
			i := strings.Index(p, "€") + 1 // inside the three bytes of "€"
			r.Frame(wstest.OpText, true, []byte(p[:i]))
			r.Send(wstest.OpPing, []byte("hi"))
			r.Frame(wstest.OpContinuation, true, []byte(p[i:i+1]))
			r.Send(wstest.OpContinuation, []byte(p[i+1:]))
			b0, payload, err := r.Next()
			if err != nil || b0 != wstest.FIN|wstest.OpPong || string(payload) != "hi" {
				t.Fatalf("got %#x %q %v, want the pong", b0, payload, err)
			}
			r.ExpectText(ep.pong)
			r.Send(wstest.OpClose, wstest.CloseFrame(1000, ""))
			if code := r.ExpectClose(); code != 1000 {
				t.Fatalf("close code %d, want 1000", code)
			}
		})
	}
}
