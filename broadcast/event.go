package broadcast

import (
	"context"
	"reflect"
)

// Event is a value that knows the channels it is broadcast on. Only
// BroadcastOn is required; the optional EventNamer (BroadcastAs),
// EventPayload (BroadcastWith) and EventCondition (BroadcastWhen)
// interfaces complete it, and EventConflater (BroadcastConflate) gives it a
// conflation key.
type Event interface {
	// BroadcastOn returns the channels to broadcast on.
	BroadcastOn() []string
}

// EventNamer names an event. Without it the event name is the Go type name.
type EventNamer interface {
	BroadcastAs() string
}

// EventPayload chooses an event's payload. Without it the event value
// itself is encoded as JSON (so `json:"-"` fields stay out).
type EventPayload interface {
	BroadcastWith() interface{}
}

// EventCondition decides whether an event is broadcast at all.
type EventCondition interface {
	BroadcastWhen() bool
}

// EventConflater gives an event a conflation key, as
// PendingBroadcast.Conflate does for Emit.
type EventConflater interface {
	BroadcastConflate() string
}

// Dispatch broadcasts e on its channels.
func (b *Broadcaster) Dispatch(e Event) error {
	return b.dispatch(context.Background(), e, "")
}

// DispatchToOthers broadcasts e on its channels, leaving out the connection
// with socketID (the current user's own socket).
func (b *Broadcaster) DispatchToOthers(e Event, socketID string) error {
	return b.dispatch(context.Background(), e, socketID)
}

// DispatchContext is Dispatch bounded by ctx, with an optional socket id
// to leave out.
func (b *Broadcaster) DispatchContext(ctx context.Context, e Event, exceptSocketID string) error {
	return b.dispatch(ctx, e, exceptSocketID)
}

func (b *Broadcaster) dispatch(ctx context.Context, e Event, except string) error {
	if c, ok := e.(EventCondition); ok && !c.BroadcastWhen() {
		return nil
	}
	name := ""
	if n, ok := e.(EventNamer); ok {
		name = n.BroadcastAs()
	}
	if name == "" {
		name = EventName(e)
	}
	var payload any = e
	if w, ok := e.(EventPayload); ok {
		payload = w.BroadcastWith()
	}
	m := &Message{Channels: e.BroadcastOn(), Event: name, Except: except}
	if k, ok := e.(EventConflater); ok {
		m.Conflate = k.BroadcastConflate()
	}
	return b.emit(ctx, m, payload)
}

// EventName returns the default name of an event value: its Go type name,
// without package or pointer ("OrderShipped").
func EventName(e any) string {
	t := reflect.TypeOf(e)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return "Event"
	}
	return t.Name()
}
