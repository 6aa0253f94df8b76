package routes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
)

// listChannels answers GET /apps/:id/channels?filter_by_prefix=&info=:
// {"channels":{name:{attributes}}}, an object even when empty. info
// user_count needs filter_by_prefix=presence-… (as Pusher).
func (rt Routes) listChannels(c echo.Context, _ []byte) error {
	q := c.QueryParams()
	prefix := q.Get("filter_by_prefix")
	info, perr := parseInfo(q.Get("info"), false)
	if perr != nil {
		return perr.send(c)
	}
	for _, a := range info {
		if a == "user_count" && !strings.HasPrefix(prefix, broadcast.PresencePrefix) {
			return badRequest("info=user_count needs filter_by_prefix=presence-").send(c)
		}
	}
	ctx := c.Request().Context()
	names, err := rt.PusherAPI.OccupiedChannels(ctx, prefix)
	if err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "list channels: "+err.Error())
	}
	out := make(map[string]map[string]int, len(names))
	for _, ch := range names {
		attrs, perr := rt.channelAttrs(ctx, ch, info, false)
		if perr != nil {
			return perr.send(c)
		}
		out[ch] = attrs
	}
	return c.JSON(http.StatusOK, map[string]any{"channels": out})
}

// channelInfo answers GET /apps/:id/channels/:name?info=:
// {"occupied":bool, "user_count"?, "subscription_count"?}; an attribute
// the channel type lacks is a 400.
func (rt Routes) channelInfo(c echo.Context, _ []byte) error {
	ch, perr := channelParam(c)
	if perr != nil {
		return perr.send(c)
	}
	info, perr := parseInfo(c.QueryParam("info"), true)
	if perr != nil {
		return perr.send(c)
	}
	ctx := c.Request().Context()
	attrs, perr := rt.channelAttrs(ctx, ch, info, true)
	if perr != nil {
		return perr.send(c)
	}
	n, err := rt.PusherAPI.SubscriptionCount(ctx, ch)
	if err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "count subscribers: "+err.Error())
	}
	out := map[string]any{"occupied": n > 0}
	for k, v := range attrs {
		out[k] = v
	}
	if slices.Contains(info, "cache") {
		cache, perr := rt.cacheInfo(ctx, ch)
		if perr != nil {
			return perr.send(c)
		}
		out["cache"] = cache
	}
	return c.JSON(http.StatusOK, out)
}

// CacheReader is implemented by backends that keep the last event of
// cache channels (*websocket.Server does); info=cache needs it.
type CacheReader interface {
	CachedEvent(ctx context.Context, channel string) (event string, data json.RawMessage, ttl time.Duration, ok bool, err error)
}

// cacheInfo is the cache attribute of a cache channel:
// {"event":…,"data":"…","ttl":seconds}, or null when it holds no event.
// data is the event's data as Pusher clients receive it (a string).
func (rt Routes) cacheInfo(ctx context.Context, ch string) (any, *apiErr) {
	cr, ok := rt.PusherAPI.(CacheReader)
	if !broadcast.IsCache(ch) || !ok {
		return nil, badRequest("info cache is only available for cache channels (cache-…, private-cache-…, presence-cache-…)")
	}
	event, data, ttl, ok, err := cr.CachedEvent(ctx, ch)
	if err != nil {
		return nil, &apiErr{http.StatusInternalServerError, "internal", fmt.Sprintf("cache of %s: %v", ch, err)}
	}
	if !ok {
		return nil, nil
	}
	text := string(data)
	var s string
	if json.Unmarshal(data, &s) == nil {
		text = s // published as a JSON string: its text, as Pusher clients get it
	}
	return map[string]any{"event": event, "data": text, "ttl": int(ttl.Round(time.Second) / time.Second)}, nil
}

// channelUsers answers GET /apps/:id/channels/:name/users for a presence
// channel: {"users":[{"id":"1"},…]}.
func (rt Routes) channelUsers(c echo.Context, _ []byte) error {
	ch, perr := channelParam(c)
	if perr != nil {
		return perr.send(c)
	}
	if broadcast.KindOf(ch) != broadcast.KindPresence {
		return badRequest("users are only listed for presence channels").send(c)
	}
	ids, err := rt.PusherAPI.PresenceUserIDs(c.Request().Context(), ch)
	if err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "list users: "+err.Error())
	}
	type user struct {
		ID string `json:"id"`
	}
	users := make([]user, len(ids))
	for i, id := range ids {
		users[i] = user{id}
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

// terminateUser answers POST /apps/:id/users/:uid/terminate_connections:
// the connections signed in as uid are closed (code 4009), on every node.
func (rt Routes) terminateUser(c echo.Context, _ []byte) error {
	uid, err := url.PathUnescape(c.Param("uid"))
	if err != nil || uid == "" || broadcast.ValidateChannel(uid) != nil {
		return badRequest("invalid user id %q", truncate(c.Param("uid"))).send(c)
	}
	if err := rt.PusherAPI.TerminateUserConnections(c.Request().Context(), uid); err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "terminate connections: "+err.Error())
	}
	return c.JSON(http.StatusOK, struct{}{})
}

// channelParam returns the :name path parameter, checked.
func channelParam(c echo.Context) (string, *apiErr) {
	ch, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return "", badRequest("channel name: %v", err)
	}
	if err := broadcast.ValidateChannel(ch); err != nil {
		return "", badRequest("%v", err)
	}
	return ch, nil
}
