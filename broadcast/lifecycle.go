package broadcast

import (
	"context"
	"encoding/json"
	"time"
)

// LifecycleKind names a lifecycle event.
type LifecycleKind uint8

// The lifecycle events. ChannelOccupied, ChannelVacated, MemberAdded and
// MemberRemoved happen once for the whole cluster (with the Redis driver:
// on one of its processes); the others on the process that holds the
// connection.
const (
	// ConnectionOpened: a connection was accepted and identified
	// (SocketID, User, Protocol).
	ConnectionOpened LifecycleKind = iota + 1
	// ConnectionClosed: a connection ended (SocketID, User, Protocol).
	ConnectionClosed
	// Subscribed: a connection joined a channel (SocketID, Channel, and
	// UserID on presence channels).
	Subscribed
	// Unsubscribed: a connection left a channel, by asking or by closing.
	Unsubscribed
	// ChannelOccupied: a channel got its first subscriber (Channel).
	ChannelOccupied
	// ChannelVacated: a channel's last subscriber left (Channel).
	ChannelVacated
	// MemberAdded: a user became a member of a presence channel
	// (Channel, UserID, Member), after the presence grace period of its
	// previous departure, if any, passed without it.
	MemberAdded
	// MemberRemoved: a user stopped being a member of a presence channel
	// (Channel, UserID), once the presence grace period passed.
	MemberRemoved
	// ClientEvent: a connection sent a client event (SocketID, Channel,
	// Event, Data, and UserID on presence channels).
	ClientEvent
	// CacheMiss: a connection subscribed to a cache channel that held no
	// event (SocketID, Channel).
	CacheMiss
	// SubscriptionCount: a channel's subscription count changed, as sent
	// to its subscribers when subscription counts are on (Channel,
	// Count).
	SubscriptionCount

	lastKind = SubscriptionCount
)

var kindNames = [...]string{
	ConnectionOpened:  "connection_opened",
	ConnectionClosed:  "connection_closed",
	Subscribed:        "subscribed",
	Unsubscribed:      "unsubscribed",
	ChannelOccupied:   "channel_occupied",
	ChannelVacated:    "channel_vacated",
	MemberAdded:       "member_added",
	MemberRemoved:     "member_removed",
	ClientEvent:       "client_event",
	CacheMiss:         "cache_miss",
	SubscriptionCount: "subscription_count",
}

// String returns the event's name in snake case, as Pusher's webhooks
// name the events they share ("channel_occupied", "member_added").
func (k LifecycleKind) String() string {
	if k == 0 || k > lastKind {
		return "unknown"
	}
	return kindNames[k]
}

// LifecycleKinds returns every kind, in order.
func LifecycleKinds() []LifecycleKind {
	out := make([]LifecycleKind, 0, lastKind)
	for k := ConnectionOpened; k <= lastKind; k++ {
		out = append(out, k)
	}
	return out
}

// LifecycleEvent is one lifecycle event; the doc of each LifecycleKind
// says which fields it sets.
type LifecycleEvent struct {
	Kind LifecycleKind
	// Time is when the event happened on the process reporting it.
	Time     time.Time
	SocketID string
	Channel  string
	// UserID is the member's user id (member events, and subscriptions
	// and client events of presence channels).
	UserID string
	// Member is the member that was added (MemberAdded).
	Member *Member
	// User is the connection's user, as the identification of the
	// connection gave it (connection events; nil when anonymous).
	User any
	// Protocol is "native" or "pusher" (connection events).
	Protocol string
	// Event and Data are the client event's name and data (ClientEvent).
	Event string
	Data  json.RawMessage
	// Count is the channel's subscription count (SubscriptionCount).
	Count int
}

// Hook is a lifecycle callback. ctx ends after the broadcaster's hook
// timeout.
type Hook func(ctx context.Context, e LifecycleEvent)
