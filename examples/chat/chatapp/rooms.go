package chatapp

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
)

// registerChannels declares who may subscribe to what, in the Laravel
// Laravel style: a user's own private-user.{id}, and the presence
// channel of any room that exists, with {id, name} as member info.
func (a *App) registerChannels() {
	a.b.Authorize("user.{id}", func(user any, p map[string]string) (bool, error) {
		return broadcast.UserID(user) == p["id"], nil
	})
	a.b.Authorize("chat.{room}", func(user any, p map[string]string) (bool, error) {
		return a.rooms[p["room"]], nil
	})
	a.b.SetPresenceData(func(channel string, user interface{}) interface{} {
		if u, ok := user.(*User); ok {
			return map[string]interface{}{"id": u.ID, "name": u.Name}
		}
		return nil
	})
}

// roomChannel is the presence channel of a room, without its prefix
// (broadcast.Presence adds "presence-").
func roomChannel(room string) string { return "chat." + room }

// listRooms answers GET /rooms with the room names, the first being the
// default.
func (a *App) listRooms(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]string{"rooms": a.opts.Rooms})
}
