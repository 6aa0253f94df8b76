package broadcast_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
)

// recorder is a custom Driver that implements only the three Driver
// methods.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	channels []string
	event    string
	data     string
	except   string
}

func (r *recorder) Broadcast(channels []string, event string, data interface{}) error {
	return r.BroadcastExcept(channels, event, data, "")
}

func (r *recorder) BroadcastExcept(channels []string, event string, data interface{}, socketID string) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{channels, event, string(raw), socketID})
	return nil
}

func (r *recorder) GetClients(string) []string { return []string{"1.1"} }

func (r *recorder) only(t *testing.T) call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 1 {
		t.Fatalf("driver got %d calls, want 1: %+v", len(r.calls), r.calls)
	}
	return r.calls[0]
}

func TestPendingBroadcast(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		emit func(b *broadcast.Broadcaster) error
		want *call // nil: nothing sent
	}{
		{"public", func(b *broadcast.Broadcaster) error {
			return b.Channel("orders").Emit("OrderShipped", map[string]int{"order_id": 1})
		},
			&call{[]string{"orders"}, "OrderShipped", `{"order_id":1}`, ""}},
		{"several channels", func(b *broadcast.Broadcaster) error { return b.Channel("orders", "notifications").Emit("E", 1) },
			&call{[]string{"orders", "notifications"}, "E", `1`, ""}},
		{"private prefix", func(b *broadcast.Broadcaster) error { return b.Private("user.123").Emit("E", nil) },
			&call{[]string{"private-user.123"}, "E", `null`, ""}},
		{"prefix not doubled", func(b *broadcast.Broadcaster) error { return b.Private("private-user.1").Emit("E", nil) },
			&call{[]string{"private-user.1"}, "E", `null`, ""}},
		{"presence prefix", func(b *broadcast.Broadcaster) error { return b.Presence("chat.room.1").Emit("E", "hi") },
			&call{[]string{"presence-chat.room.1"}, "E", `"hi"`, ""}},
		{"to others", func(b *broadcast.Broadcaster) error { return b.Channel("c").ToOthers("12.34").Emit("E", 1) },
			&call{[]string{"c"}, "E", `1`, "12.34"}},
		{"raw JSON as is", func(b *broadcast.Broadcaster) error {
			return b.Channel("c").Emit("E", json.RawMessage(`{"a": [1, 2]}`))
		},
			&call{[]string{"c"}, "E", `{"a":[1,2]}`, ""}},
		{"when true", func(b *broadcast.Broadcaster) error { return b.Channel("c").When(true).Emit("E", 1) },
			&call{[]string{"c"}, "E", `1`, ""}},
		{"when false", func(b *broadcast.Broadcaster) error { return b.Channel("c").When(false).Emit("E", 1) }, nil},
		{"any when false wins", func(b *broadcast.Broadcaster) error { return b.Channel("c").When(false).When(true).Emit("E", 1) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			if err := tc.emit(broadcast.New(rec)); err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(rec.calls) != 0 {
					t.Fatalf("sent %+v, want nothing", rec.calls)
				}
				return
			}
			got := rec.only(t)
			if strings.Join(got.channels, ",") != strings.Join(tc.want.channels, ",") || got.event != tc.want.event || got.data != tc.want.data || got.except != tc.want.except {
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

func TestEmitErrors(t *testing.T) {
	t.Parallel()
	b := broadcast.New(&recorder{})
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"no channel", b.Channel().Emit("E", 1), broadcast.ErrNoChannels},
		{"bad channel", b.Channel("a b").Emit("E", 1), broadcast.ErrInvalidChannel},
		{"long channel", b.Channel(strings.Repeat("x", 201)).Emit("E", 1), broadcast.ErrInvalidChannel},
		{"reserved event", b.Channel("c").Emit("subscription_succeeded", 1), broadcast.ErrReservedEvent},
		{"client event", b.Channel("c").Emit("client-typing", 1), broadcast.ErrReservedEvent},
		{"empty event", b.Channel("c").Emit("", 1), broadcast.ErrInvalidEvent},
		{"unencodable", b.Channel("c").Emit("E", func() {}), broadcast.ErrEncode},
		{"invalid raw JSON", b.Channel("c").Emit("E", json.RawMessage(`{"a":`)), broadcast.ErrEncode},
		{"raw JSON with invalid UTF-8", b.Channel("c").Emit("E", json.RawMessage("{\"a\":\"\xff\"}")), broadcast.ErrEncode},
		{"over-long conflation key", b.Channel("c").Conflate(strings.Repeat("k", broadcast.MaxConflateKeyLength+1)).Emit("e", 1), broadcast.ErrInvalidConflateKey},
		{"conflation key not UTF-8", b.Publish(context.Background(), &broadcast.Message{Channels: []string{"c"}, Event: "e", Conflate: "\xff"}), broadcast.ErrInvalidConflateKey},
		{"Publish of a reserved event", b.Publish(context.Background(), &broadcast.Message{Channels: []string{"c"}, Event: "pusher_internal:terminate_connections"}), broadcast.ErrReservedEvent},
		{"Publish of a member event", b.Publish(context.Background(), &broadcast.Message{Channels: []string{"presence-c"}, Event: "member_added", Data: json.RawMessage(`{}`)}), broadcast.ErrReservedEvent},
		{"Publish with invalid UTF-8", b.Publish(context.Background(), &broadcast.Message{Channels: []string{"c"}, Event: "E", Data: json.RawMessage("\"\xc3\"")}), broadcast.ErrEncode},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if err := broadcast.New(nil).Channel("c").Emit("E", 1); !errors.Is(err, broadcast.ErrNotConfigured) {
		t.Errorf("no driver: got %v", err)
	}
}

type orderShipped struct {
	OrderID  int    `json:"order_id"`
	Tracking string `json:"tracking"`
	UserID   int    `json:"-"`
}

func (e orderShipped) BroadcastOn() []string { return []string{"orders", "user.9"} }

type fullEvent struct{ orderShipped }

func (e fullEvent) BroadcastAs() string        { return "order.shipped" }
func (e fullEvent) BroadcastWith() interface{} { return map[string]any{"id": e.OrderID} }
func (e fullEvent) BroadcastWhen() bool        { return e.Tracking != "" }
func (e fullEvent) BroadcastOn() []string      { return []string{"orders"} }
func (e *pointerEvent) BroadcastOn() []string  { return []string{"p"} }
func (e *pointerEvent) BroadcastWith() any     { return e.N }
func (e *pointerEvent) BroadcastAs() string    { return "" } // empty: fall back to the type name
type pointerEvent struct{ N int }

func TestDispatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		event  broadcast.Event
		except string
		want   *call
	}{
		{"only BroadcastOn", orderShipped{OrderID: 7, Tracking: "T", UserID: 9}, "",
			&call{[]string{"orders", "user.9"}, "orderShipped", `{"order_id":7,"tracking":"T"}`, ""}},
		{"all four methods", fullEvent{orderShipped{OrderID: 7, Tracking: "T"}}, "1.2",
			&call{[]string{"orders"}, "order.shipped", `{"id":7}`, "1.2"}},
		{"BroadcastWhen false", fullEvent{orderShipped{OrderID: 7}}, "", nil},
		{"pointer receiver", &pointerEvent{N: 3}, "", &call{[]string{"p"}, "pointerEvent", `3`, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			b := broadcast.New(rec)
			var err error
			if tc.except != "" {
				err = b.DispatchToOthers(tc.event, tc.except)
			} else {
				err = b.Dispatch(tc.event)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(rec.calls) != 0 {
					t.Fatalf("sent %+v", rec.calls)
				}
				return
			}
			got := rec.only(t)
			if strings.Join(got.channels, ",") != strings.Join(tc.want.channels, ",") || got.event != tc.want.event || got.data != tc.want.data || got.except != tc.want.except {
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

func TestGetClientsDelegates(t *testing.T) {
	t.Parallel()
	if got := broadcast.New(&recorder{}).GetClients("x"); len(got) != 1 || got[0] != "1.1" {
		t.Fatalf("GetClients = %v", got)
	}
}

func TestSocketIDs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := broadcast.NewSocketID()
		if !broadcast.ValidSocketID(id) || seen[id] {
			t.Fatalf("bad or repeated socket id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "1", "1.", ".1", "1.2.3", "a.1", "1.1a", "1:1", strings.Repeat("1", 30) + "." + strings.Repeat("1", 30)} {
		if broadcast.ValidSocketID(bad) {
			t.Errorf("ValidSocketID(%q) = true", bad)
		}
	}
}

func TestChannelKinds(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]broadcast.Kind{
		"orders": broadcast.KindPublic, "private-user.1": broadcast.KindPrivate,
		"private-encrypted-x": broadcast.KindPrivate, "presence-chat.1": broadcast.KindPresence,
		"privateer": broadcast.KindPublic,
	} {
		if got := broadcast.KindOf(name); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", name, got, want)
		}
	}
	for _, ok := range []string{"a", "A-Z_a-z0-9=@,.;", strings.Repeat("x", 200)} {
		if err := broadcast.ValidateChannel(ok); err != nil {
			t.Errorf("ValidateChannel(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a#b", "é", "a:b", "a/b", strings.Repeat("x", 201)} {
		if err := broadcast.ValidateChannel(bad); !errors.Is(err, broadcast.ErrInvalidChannel) {
			t.Errorf("ValidateChannel(%q) = %v", bad, err)
		}
	}
}

func TestDefaultKeepsHooksAcrossDriverChange(t *testing.T) {
	// Not parallel: it uses the process-wide default.
	broadcast.SetAuthorizer(func(channel string, user interface{}) bool { return channel == "private-ok" })
	rec := &recorder{}
	broadcast.Default().SetDriver(rec)
	if err := broadcast.Channel("orders").Emit("E", 1); err != nil {
		t.Fatal(err)
	}
	rec.only(t)
	if err := broadcast.Default().AuthorizeChannel(context.Background(), "private-ok", "u"); err != nil {
		t.Fatalf("authorizer set before SetDriver was lost: %v", err)
	}
	broadcast.SetAuthorizer(nil)
}
