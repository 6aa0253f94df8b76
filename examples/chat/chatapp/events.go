package chatapp

import "time"

// MessageSent is the payload of the "MessageSent" event on
// presence-chat.{room}; POST /rooms/{room}/messages answers it too.
type MessageSent struct {
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
}

// NewNotification is a live notification event, declared as an
// Event struct: Dispatch sends it on the recipient's private channel.
type NewNotification struct {
	ID          string
	Title       string
	Message     string
	Type        string
	Room        string
	RecipientID string
	SenderID    string
}

// BroadcastOn is the recipient's private channel.
func (n NewNotification) BroadcastOn() []string {
	return []string{"private-user." + n.RecipientID}
}

// BroadcastAs names the event.
func (n NewNotification) BroadcastAs() string { return "NewNotification" }

// BroadcastWith is the payload: its id, title, message and type,
// plus the room to jump to.
func (n NewNotification) BroadcastWith() interface{} {
	return map[string]interface{}{
		"id":      n.ID,
		"title":   n.Title,
		"message": n.Message,
		"type":    n.Type,
		"room":    n.Room,
	}
}

// BroadcastWhen skips notifications to nobody and to oneself.
func (n NewNotification) BroadcastWhen() bool {
	return n.RecipientID != "" && n.RecipientID != n.SenderID
}
