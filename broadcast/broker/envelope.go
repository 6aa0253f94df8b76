package broker

import (
	"encoding/json"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

// Event names the server publishes for itself. broadcast.ValidateEvent
// refuses them for applications, so no emit can forge one.
const (
	// EventMemberAdded announces a user's first connection to a presence
	// channel; Data is the member JSON ({"user_id","user_info"}).
	EventMemberAdded = "member_added"
	// EventMemberRemoved announces that a user's last connection left a
	// presence channel; Data is {"user_id":ID}.
	EventMemberRemoved = "member_removed"
	// EventTerminate closes the connections on the envelope's user
	// channels, on every node.
	EventTerminate = "pusher_internal:terminate_connections"
	// EventResync tells a node that its broker subscription to the
	// envelope's channels was interrupted and is back: messages published
	// in between may never have reached it. Only a broker hands it to its
	// own node's deliver func, once the subscription is re-established; it
	// never travels between nodes (a broker drops one received from its
	// back end). The server then makes the channels' local subscribers
	// resubscribe (see websocket.CodeResync).
	EventResync = "pusher_internal:resync"
	// EventSubscriptionCount carries a non-presence channel's
	// cluster-wide subscriber count, {"subscription_count":N}; the native
	// protocol names it subscription_count.
	EventSubscriptionCount = "pusher_internal:subscription_count"
)

// Envelope is one message as it travels from a publisher through a
// broker to every node's hub. The application-visible part is the
// embedded broadcast.Message; the other fields are set by the server for
// its own messages and must survive the trip through any broker
// unchanged. An Envelope is immutable once published: brokers and hubs
// share it.
type Envelope struct {
	// Channels, Event, Data and Except as the publisher set them.
	broadcast.Message
	// UserID is the sender of a client event on a presence channel ("" for
	// every other message).
	UserID string
	// Version orders a presence member event (EventMemberAdded,
	// EventMemberRemoved) against the member lists that subscribers got
	// when they joined: a subscriber whose list is at this version or
	// later already reflects the change and does not get the event. Zero
	// for every other message.
	Version uint64
	// Epoch is set on a member_added that restates a member after the
	// shared presence state was lost: the version at which the current
	// state began. Only subscribers whose member list is of this epoch or
	// later get it; older ones already know the member.
	Epoch uint64
	// Retention, set by the server on a message to a channel with
	// history, asks the broker to assign the message the channel's next
	// offset and keep it (see Historian). Such an envelope has one
	// channel.
	Retention *Retention
	// Position is the message's place in its channel's stream, set by a
	// Historian on delivery; zero for a channel without history.
	Position Position
	// PublishedAt is when an application published the message on this
	// process, for the publish-to-enqueue latency. It does not travel
	// between processes: a broker that carries messages through a back
	// end delivers them with it zero.
	PublishedAt time.Time
}

// Wrap returns the envelope of an application message.
func Wrap(m *broadcast.Message) *Envelope { return &Envelope{Message: *m} }

// NewMemberRemoved returns the member_removed envelope of userID's
// departure from channel, at presence version.
func NewMemberRemoved(channel, userID string, version uint64) *Envelope {
	data, _ := json.Marshal(struct {
		UserID string `json:"user_id"`
	}{userID})
	e := New(channel, EventMemberRemoved, data)
	e.Version = version
	return e
}

// New returns the envelope of a message to one channel.
func New(channel, event string, data json.RawMessage) *Envelope {
	return &Envelope{Message: broadcast.Message{Channels: []string{channel}, Event: event, Data: data}}
}
