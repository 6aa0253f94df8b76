package chatapp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
)

// Room history: every room's channel keeps its last HistorySize messages
// for HistoryTTL, in the broadcaster's history (in memory, or in Redis
// with the Redis driver, shared by every instance).
const (
	HistorySize = 100
	HistoryTTL  = 24 * time.Hour
	// historyPage is how many messages a page loads when it opens a room.
	historyPage = 50
)

// historyRule opts every room channel in to history.
var historyRule = broadcast.WithHistory(broadcast.PresencePrefix+"chat.*", HistorySize, HistoryTTL)

// roomHistory answers GET /rooms/{room}/messages[?limit=N] with the
// room's last messages, oldest first: {"messages":[…]}. The page loads
// them when it opens a room and each time it (re)subscribes, and merges
// them with what it shows by message id, so a reload or a reconnect never
// loses or repeats a message.
func (a *App) roomHistory(c echo.Context) error {
	room := c.Param("room")
	if !a.rooms[room] {
		return fail(c, http.StatusNotFound, "unknown_room", "room "+strconv.Quote(room)+" does not exist")
	}
	limit := historyPage
	if q := c.QueryParam("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > HistorySize {
			return fail(c, http.StatusBadRequest, "invalid_limit", "limit must be 1.."+strconv.Itoa(HistorySize))
		}
		limit = n
	}
	res, err := a.b.History(c.Request().Context(), broadcast.PresencePrefix+roomChannel(room), limit)
	if err != nil && !errors.Is(err, broadcast.ErrNoHistory) {
		a.opts.Logger.Error("chat: history unavailable", "room", room, "err", err)
		return fail(c, http.StatusServiceUnavailable, "history_unavailable", "the room's messages could not be loaded, try again")
	}
	out := make([]MessageSent, 0, len(res.Publications))
	for _, p := range res.Publications {
		var m MessageSent
		if p.Event == "MessageSent" && json.Unmarshal(p.Data, &m) == nil {
			out = append(out, m)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}
