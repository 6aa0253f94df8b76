package broadcast

import (
	"context"
	"encoding/json"
)

// Driver moves broadcasts to the connections subscribed to their channels.
// A custom driver implements these three methods; data is the payload
// already encoded once, as a json.RawMessage.
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

// Authorizer decides subscriptions to private and presence channels and
// gives the member entry of a presence subscriber. *Broadcaster implements
// it with its hooks; drivers that serve connections consult one.
type Authorizer interface {
	// AuthorizeChannel returns nil when user may subscribe to channel, or
	// an error wrapping ErrUnauthenticated or ErrForbidden.
	AuthorizeChannel(ctx context.Context, channel string, user any) error
	// PresenceMember returns user's member entry on a presence channel.
	PresenceMember(ctx context.Context, channel string, user any) (Member, error)
}

// AuthorizerBinder is implemented by drivers that serve connections and
// so need an Authorizer. New and SetDriver bind the broadcaster to such a
// driver. A driver keeps the first Authorizer it is bound to and reports
// false to later ones, so that a second Broadcaster built over the same
// driver cannot silently take over its hooks.
type AuthorizerBinder interface {
	BindAuthorizer(a Authorizer) bool
}

// Binder is the former form of AuthorizerBinder, still honoured.
//
// Deprecated: implement AuthorizerBinder; Binder will be removed in the
// next release.
type Binder interface {
	Bind(b *Broadcaster)
}

// MemberLister is implemented by drivers that know the members of
// presence channels (the whole cluster for the Redis driver).
type MemberLister interface {
	Members(ctx context.Context, channel string) ([]Member, error)
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
	// Conflate is the message's conflation key ("" for none): a
	// connection that has fallen behind gets only the latest of the
	// queued messages with the same key on a channel. See
	// PendingBroadcast.Conflate.
	Conflate string `json:"conflate,omitempty"`
}
