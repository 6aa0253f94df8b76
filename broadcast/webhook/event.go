package webhook

import (
	"encoding/json"
	"fmt"
)

// Event names, as Pusher Channels sends them in the "name" field.
const (
	NameChannelOccupied   = "channel_occupied"
	NameChannelVacated    = "channel_vacated"
	NameMemberAdded       = "member_added"
	NameMemberRemoved     = "member_removed"
	NameClientEvent       = "client_event"
	NameCacheMiss         = "cache_miss"
	NameSubscriptionCount = "subscription_count"
)

// Names lists every event name the package sends, in a stable order.
var Names = []string{
	NameChannelOccupied, NameChannelVacated, NameMemberAdded, NameMemberRemoved,
	NameClientEvent, NameCacheMiss, NameSubscriptionCount,
}

// nameBit maps an event name to its bit in a filter mask.
func nameBit(name string) (uint8, bool) {
	for i, n := range Names {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Event is one webhook event. Which fields are sent depends on Name
// (see MarshalJSON); build events with the constructors below.
type Event struct {
	// Name is one of the Name* constants.
	Name string `json:"name"`
	// Channel is the channel concerned; required.
	Channel string `json:"channel"`
	// UserID is the presence user (member_added, member_removed, and
	// client_event on presence channels).
	UserID string `json:"user_id,omitempty"`
	// Event is the client event's name (client_event).
	Event string `json:"event,omitempty"`
	// Data is the client event's data as the client sent it (client_event).
	Data string `json:"data,omitempty"`
	// SocketID is the sender of the client event (client_event).
	SocketID string `json:"socket_id,omitempty"`
	// SubscriptionCount is the channel's subscriber count (subscription_count).
	SubscriptionCount int `json:"subscription_count,omitempty"`
}

// ChannelOccupied reports that channel got its first subscriber.
func ChannelOccupied(channel string) Event { return Event{Name: NameChannelOccupied, Channel: channel} }

// ChannelVacated reports that channel lost its last subscriber.
func ChannelVacated(channel string) Event { return Event{Name: NameChannelVacated, Channel: channel} }

// MemberAdded reports that userID joined the presence channel.
func MemberAdded(channel, userID string) Event {
	return Event{Name: NameMemberAdded, Channel: channel, UserID: userID}
}

// MemberRemoved reports that userID left the presence channel.
func MemberRemoved(channel, userID string) Event {
	return Event{Name: NameMemberRemoved, Channel: channel, UserID: userID}
}

// ClientEvent reports a client event: event and data as the client sent
// them, socketID of the sender, userID on presence channels ("" otherwise).
func ClientEvent(channel, event, data, socketID, userID string) Event {
	return Event{Name: NameClientEvent, Channel: channel, Event: event, Data: data, SocketID: socketID, UserID: userID}
}

// CacheMiss reports a subscription to a cache channel with nothing cached.
func CacheMiss(channel string) Event { return Event{Name: NameCacheMiss, Channel: channel} }

// SubscriptionCount reports the number of subscribers of channel.
func SubscriptionCount(channel string, count int) Event {
	return Event{Name: NameSubscriptionCount, Channel: channel, SubscriptionCount: count}
}

type channelOnly struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
}

type member struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	UserID  string `json:"user_id"`
}

type client struct {
	Name     string `json:"name"`
	Channel  string `json:"channel"`
	Event    string `json:"event"`
	Data     string `json:"data"`
	SocketID string `json:"socket_id"`
	UserID   string `json:"user_id,omitempty"`
}

type subCount struct {
	Name              string `json:"name"`
	Channel           string `json:"channel"`
	SubscriptionCount int    `json:"subscription_count"`
}

// MarshalJSON encodes the fields Pusher sends for e.Name:
// name and channel always; user_id for member_added and member_removed;
// event, data, socket_id (and user_id when set) for client_event;
// subscription_count (also when 0) for subscription_count. It fails with
// ErrInvalidEvent for an unknown name, an empty channel, a member event
// without user_id or a client event without event name.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	switch e.Name {
	case NameMemberAdded, NameMemberRemoved:
		return json.Marshal(member{e.Name, e.Channel, e.UserID})
	case NameClientEvent:
		return json.Marshal(client{e.Name, e.Channel, e.Event, e.Data, e.SocketID, e.UserID})
	case NameSubscriptionCount:
		return json.Marshal(subCount{e.Name, e.Channel, e.SubscriptionCount})
	default:
		return json.Marshal(channelOnly{e.Name, e.Channel})
	}
}

func (e Event) validate() error {
	if _, ok := nameBit(e.Name); !ok {
		return fmt.Errorf("%w: unknown name %q", ErrInvalidEvent, e.Name)
	}
	switch {
	case e.Channel == "":
		return fmt.Errorf("%w: %s without channel", ErrInvalidEvent, e.Name)
	case (e.Name == NameMemberAdded || e.Name == NameMemberRemoved) && e.UserID == "":
		return fmt.Errorf("%w: %s without user_id", ErrInvalidEvent, e.Name)
	case e.Name == NameClientEvent && e.Event == "":
		return fmt.Errorf("%w: client_event without event", ErrInvalidEvent)
	}
	return nil
}

// Payload is a webhook request body: {"time_ms":…,"events":[…]}.
type Payload struct {
	// TimeMS is when the request was first built, in Unix milliseconds.
	TimeMS int64 `json:"time_ms"`
	// Events are the batched events, in the order they were sent.
	Events []Event `json:"events"`
}
