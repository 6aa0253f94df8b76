package chatapp

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// notifyMentions dispatches a NewNotification to every member of the room
// whose name the message mentions as @name, and returns their names.
func (a *App) notifyMentions(ctx context.Context, from *User, msg MessageSent) []string {
	notified := []string{}
	if !strings.Contains(msg.Message, "@") {
		return notified
	}
	for _, m := range a.roomMembers(ctx, msg.Room) {
		if m.ID == from.ID || !mentions(msg.Message, m.Name) {
			continue
		}
		err := a.b.Dispatch(NewNotification{
			ID:          newID(),
			Title:       from.Name + " mentioned you in #" + msg.Room,
			Message:     excerpt(msg.Message, 140),
			Type:        "mention",
			Room:        msg.Room,
			RecipientID: m.ID,
			SenderID:    from.ID,
		})
		if err != nil {
			a.opts.Logger.Warn("chat: notification failed", "to", m.ID, "err", err)
			continue
		}
		notified = append(notified, m.Name)
	}
	return notified
}

// roomMembers lists the users present in a room, from the presence store
// (the whole cluster's when the driver shares presence).
func (a *App) roomMembers(ctx context.Context, room string) []User {
	members, err := a.p.Broadcaster().Members(ctx, roomChannel(room))
	if err != nil {
		a.opts.Logger.Warn("chat: presence lookup failed", "room", room, "err", err)
		return nil
	}
	users := make([]User, 0, len(members))
	for _, m := range members {
		var u User
		if json.Unmarshal(m.UserInfo, &u) == nil && u.Name != "" {
			u.ID = m.UserID
			users = append(users, u)
		}
	}
	return users
}

// mentions reports whether text contains "@name" (case-insensitive) not
// followed by a letter or digit, so @bob does not mention "bobby".
func mentions(text, name string) bool {
	lt, ln := strings.ToLower(text), "@"+strings.ToLower(name)
	for i := 0; ; {
		j := strings.Index(lt[i:], ln)
		if j < 0 {
			return false
		}
		end := i + j + len(ln)
		r, _ := utf8.DecodeRuneInString(lt[end:])
		if end == len(lt) || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			return true
		}
		i = end
	}
}

// excerpt shortens s to at most n runes.
func excerpt(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
