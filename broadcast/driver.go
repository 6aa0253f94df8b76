package broadcast

import (
	"context"
	"encoding/json"
)

// Driver moves broadcasts to the connections subscribed to their channels.
// It is the seed's interface: a custom driver implements these three
// methods. data is the payload already encoded once as a json.RawMessage.
type Driver interface {
	// Broadcast sends an event to channels.
	Broadcast(channels []string, event string, data interface{}) error
	// BroadcastExcept broadcasts to all except the connection socketID.
	BroadcastExcept(channels []string, event string, data interface{}, socketID string) error
	// GetClients returns the socket ids subscribed to channel.
	GetClients(channel string) []string
}

// Publisher is implemented by drivers that take an encoded Message directly.
// The built-in drivers implement it; the Broadcaster prefers it to
// Broadcast/BroadcastExcept because it carries a context and avoids
// re-wrapping the payload.
type Publisher interface {
	Publish(ctx context.Context, m *Message) error
}

// Binder is implemented by drivers that serve connections and so need the
// broadcaster's authorization and presence hooks. New calls Bind once.
type Binder interface {
	Bind(b *Broadcaster)
}

// Message is one broadcast as it travels from the Broadcaster through a
// driver to the hubs: the payload is encoded once, before it leaves Emit.
// A Message is immutable once published; drivers and hubs share it.
type Message struct {
	// Channels the event goes to; each subscriber of each channel gets it
	// once per channel it is subscribed to.
	Channels []string `json:"channels"`
	// Event is the event name (the native frame's "type").
	Event string `json:"event"`
	// Data is the payload as JSON.
	Data json.RawMessage `json:"data"`
	// Except is a socket id that must not receive the message ("" for none).
	Except string `json:"except,omitempty"`
	// UserID is set on client events relayed on presence channels.
	UserID string `json:"user_id,omitempty"`
	// Version orders a presence member event (member_added,
	// member_removed) against the member lists that subscribers got when
	// they joined: a subscriber whose list is at this version or later
	// already reflects the change and does not get the event. Zero for
	// every other message.
	Version uint64 `json:"version,omitempty"`
	// Epoch is set on a member_added that restates a member after the
	// shared presence state was lost (a Redis restart without
	// persistence): the version at which the current state began. Only
	// subscribers whose member list is of this epoch or later get it;
	// older ones already know the member.
	Epoch uint64 `json:"epoch,omitempty"`
}
