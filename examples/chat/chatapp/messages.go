package chatapp

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/middleware"
)

// MaxMessageRunes bounds a chat message.
const MaxMessageRunes = 2000

// sendMessage is the chat controller: POST
// /rooms/{room}/messages with {"message":"..."}, Bearer JWT and the
// sender's X-Socket-ID. It broadcasts MessageSent to the others on the
// room's presence channel (the sender already shows its message), notifies
// the members it mentions, and answers 201 with the message.
func (a *App) sendMessage(c echo.Context) error {
	room := c.Param("room")
	if !a.rooms[room] {
		return fail(c, http.StatusNotFound, "unknown_room", fmt.Sprintf("room %q does not exist", room))
	}
	user, ok := middleware.UserAs[*User](c)
	if !ok {
		return fail(c, http.StatusUnauthorized, "token_invalid", "authentication token is invalid")
	}
	var req struct {
		Message string `json:"message"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return badBody(c, err, `body must be JSON {"message":"..."}`)
	}
	text := strings.TrimSpace(req.Message)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return fail(c, http.StatusUnprocessableEntity, "empty_message", "message is empty")
	case n > MaxMessageRunes:
		return fail(c, http.StatusUnprocessableEntity, "message_too_long",
			fmt.Sprintf("message is too long (%d characters; at most %d)", n, MaxMessageRunes))
	case !utf8.ValidString(text):
		return fail(c, http.StatusUnprocessableEntity, "invalid_message", "message must be valid UTF-8")
	}
	socketID := c.Request().Header.Get("X-Socket-ID")
	if socketID != "" && !broadcast.ValidSocketID(socketID) {
		return fail(c, http.StatusBadRequest, "invalid_socket_id", "X-Socket-ID must look like 1234.5678")
	}

	msg := MessageSent{
		ID: newID(), Room: room, UserID: user.ID, Name: user.Name,
		Message: text, Timestamp: time.Now().UTC(),
	}
	err := a.b.Presence(roomChannel(room)).
		ToOthers(socketID).
		Emit("MessageSent", msg)
	if err != nil {
		a.opts.Logger.Error("chat: broadcast failed", "room", room, "err", err)
		return fail(c, http.StatusServiceUnavailable, "broadcast_failed", "the message could not be delivered, try again")
	}
	notified := a.notifyMentions(c.Request().Context(), user, msg)
	return c.JSON(http.StatusCreated, struct {
		MessageSent
		Notified []string `json:"notified"`
	}{msg, notified})
}
