package routes

import (
	"encoding/json"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
)

// FuzzPusherEvent: any event body either is refused with a 4xx answer or
// yields a publication whose name, channels and data obey the rules.
func FuzzPusherEvent(f *testing.F) {
	for _, s := range []string{
		`{"name":"OrderShipped","channels":["orders"],"data":"{\"id\":1}"}`,
		`{"name":"e","channel":"presence-x","data":"plain","socket_id":"1.2","info":"user_count"}`,
		`{"name":"e","channels":["#server-to-user-7"],"data":"\"x\""}`,
		`{"name":"client-x","channels":["a"],"data":"1"}`, `{"name":"e","data":{}}`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ev pusherEvent
		if json.Unmarshal(body, &ev) != nil {
			return
		}
		p, aerr := ev.check(1024)
		if aerr != nil {
			if aerr.status < 400 || aerr.status > 499 {
				t.Fatalf("status %d for %q", aerr.status, body)
			}
			return
		}
		if err := broadcast.ValidateEvent(p.msg.Event); err != nil {
			t.Fatalf("accepted event %q: %v", p.msg.Event, err)
		}
		if len(p.msg.Channels)+len(p.users) == 0 || len(p.msg.Channels) > MaxChannelsPerEvent {
			t.Fatalf("accepted %d channels and %d users", len(p.msg.Channels), len(p.users))
		}
		for _, ch := range p.msg.Channels {
			if broadcast.ValidateChannel(ch) != nil {
				t.Fatalf("accepted channel %q", ch)
			}
		}
		if len(p.msg.Data) > 0 && !json.Valid(p.msg.Data) {
			t.Fatalf("data %q is not JSON", p.msg.Data)
		}
	})
}
