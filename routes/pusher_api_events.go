package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
)

// pusherEvent is one event of POST /events or of a batch. The node SDK
// always sends "channels"; the PHP SDK sends "channel" for one channel.
type pusherEvent struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channel  string          `json:"channel"`
	Channels []string        `json:"channels"`
	SocketID string          `json:"socket_id"`
	Info     string          `json:"info"`
}

// publication is a checked event, ready to publish.
type publication struct {
	msg   broadcast.Message // regular channels
	users []string          // ids of #server-to-user- channels
	info  []string
}

// apiErr is a request error with its HTTP status.
type apiErr struct {
	status int
	code   string
	msg    string
}

func badRequest(format string, args ...any) *apiErr {
	return &apiErr{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

func (e *apiErr) send(c echo.Context) error { return fail(c, e.status, e.code, e.msg) }

// check validates ev against the Pusher HTTP API rules: a name, data that is a
// string of at most max bytes, 1–100 valid channels, an optional valid
// socket_id and known info attributes.
func (ev *pusherEvent) check(max int) (*publication, *apiErr) {
	if err := broadcast.ValidateEvent(ev.Name); err != nil {
		return nil, badRequest("name: %v", err)
	}
	var data string
	if len(ev.Data) == 0 || ev.Data[0] != '"' || json.Unmarshal(ev.Data, &data) != nil {
		return nil, badRequest("data must be a string (JSON-encode objects first)")
	}
	if len(data) > max {
		return nil, &apiErr{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("data is %d bytes, over the %d-byte limit", len(data), max)}
	}
	chans := ev.Channels
	switch {
	case ev.Channel != "" && len(chans) > 0:
		return nil, badRequest(`give "channel" or "channels", not both`)
	case ev.Channel != "":
		chans = []string{ev.Channel}
	case len(chans) == 0:
		return nil, badRequest("no channel")
	case len(chans) > MaxChannelsPerEvent:
		return nil, badRequest("%d channels, over the limit of %d per event", len(chans), MaxChannelsPerEvent)
	}
	p := &publication{msg: broadcast.Message{Event: ev.Name, Data: messageData(data), Except: ev.SocketID}}
	for _, ch := range chans {
		if id, ok := strings.CutPrefix(ch, userChannelPrefix); ok {
			if err := broadcast.ValidateChannel(ch[1:]); err != nil || id == "" {
				return nil, badRequest("invalid user channel %q", truncate(ch))
			}
			p.users = append(p.users, id)
			continue
		}
		if err := broadcast.ValidateChannel(ch); err != nil {
			return nil, badRequest("%v", err)
		}
		p.msg.Channels = append(p.msg.Channels, ch)
	}
	if hasEncrypted(chans) {
		if len(chans) > 1 {
			return nil, badRequest("%v", broadcast.ErrEncryptedChannels)
		}
		var sealed broadcast.EncryptedPayload
		if json.Unmarshal(p.msg.Data, &sealed) != nil || sealed.Nonce == "" || sealed.Ciphertext == "" {
			return nil, badRequest(`%v: data must be {"nonce":…,"ciphertext":…}`, broadcast.ErrNotEncrypted)
		}
	}
	if ev.SocketID != "" && !broadcast.ValidSocketID(ev.SocketID) {
		return nil, badRequest("socket_id %q must look like 1234.5678", truncate(ev.SocketID))
	}
	info, perr := parseInfo(ev.Info, false)
	if perr != nil {
		return nil, perr
	}
	p.info = info
	return p, nil
}

// hasEncrypted reports whether any of chans is an encrypted channel.
func hasEncrypted(chans []string) bool {
	for _, ch := range chans {
		if broadcast.IsEncrypted(ch) {
			return true
		}
	}
	return false
}

// parseInfo parses an info parameter; cache says whether info=cache may
// be asked (single-channel GET only).
func parseInfo(s string, cache bool) ([]string, *apiErr) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		switch a = strings.TrimSpace(a); a {
		case "":
		case "user_count", "subscription_count":
			out = append(out, a)
		case "cache":
			if !cache {
				return nil, badRequest("info cache is only answered by GET /apps/:id/channels/:name")
			}
			out = append(out, a)
		default:
			return nil, badRequest("unknown info attribute %q", truncate(a))
		}
	}
	return out, nil
}

// publish sends p through the broadcaster (regular channels, so native
// and Pusher clients get it) and the backend (user channels).
func (rt Routes) publish(ctx context.Context, p *publication) *apiErr {
	if len(p.msg.Channels) > 0 {
		m := p.msg
		if err := rt.Broadcaster.Publish(ctx, &m); err != nil {
			if errors.Is(err, broadcast.ErrNotEncrypted) || errors.Is(err, broadcast.ErrEncryptedChannels) {
				return badRequest("%v", err)
			}
			return &apiErr{http.StatusInternalServerError, "publish_failed", err.Error()}
		}
	}
	for _, id := range p.users {
		if err := rt.PusherAPI.PublishToUser(ctx, id, p.msg.Event, p.msg.Data); err != nil {
			return &apiErr{http.StatusInternalServerError, "publish_failed", err.Error()}
		}
	}
	return nil
}

// triggerEvents answers POST /apps/:id/events: {} or, with info,
// {"channels":{name:{attributes}}}.
func (rt Routes) triggerEvents(c echo.Context, body []byte) error {
	var ev pusherEvent
	if err := decodeJSON(body, &ev); err != nil {
		return fail(c, http.StatusBadRequest, "bad_request", "malformed JSON body: "+err.Error())
	}
	p, perr := ev.check(rt.maxPayload())
	if perr != nil {
		return perr.send(c)
	}
	ctx := c.Request().Context()
	if perr := rt.publish(ctx, p); perr != nil {
		return perr.send(c)
	}
	if len(p.info) == 0 {
		return c.JSON(http.StatusOK, struct{}{})
	}
	out := make(map[string]map[string]int, len(p.msg.Channels))
	for _, ch := range p.msg.Channels {
		attrs, perr := rt.channelAttrs(ctx, ch, p.info, false)
		if perr != nil {
			return perr.send(c)
		}
		out[ch] = attrs
	}
	return c.JSON(http.StatusOK, map[string]any{"channels": out})
}

// triggerBatch answers POST /apps/:id/batch_events: every event is checked
// before any is published; {} or, with any info, {"batch":[{attrs},…]}.
func (rt Routes) triggerBatch(c echo.Context, body []byte) error {
	var req struct {
		Batch []pusherEvent `json:"batch"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return fail(c, http.StatusBadRequest, "bad_request", "malformed JSON body: "+err.Error())
	}
	if len(req.Batch) > MaxBatchEvents {
		return badRequest("%d events, over the limit of %d per batch", len(req.Batch), MaxBatchEvents).send(c)
	}
	pubs := make([]*publication, len(req.Batch))
	withInfo := false
	for i := range req.Batch {
		ev := &req.Batch[i]
		if n := len(ev.Channels); (ev.Channel == "") == (n == 0) || n > 1 {
			return badRequest("batch[%d]: each event needs exactly one channel", i).send(c)
		}
		p, perr := ev.check(rt.maxPayload())
		if perr != nil {
			perr.msg = fmt.Sprintf("batch[%d]: %s", i, perr.msg)
			return perr.send(c)
		}
		pubs[i], withInfo = p, withInfo || len(p.info) > 0
	}
	ctx := c.Request().Context()
	for _, p := range pubs {
		if perr := rt.publish(ctx, p); perr != nil {
			return perr.send(c)
		}
	}
	if !withInfo {
		return c.JSON(http.StatusOK, struct{}{})
	}
	out := make([]map[string]int, len(pubs))
	for i, p := range pubs {
		out[i] = map[string]int{}
		for _, ch := range p.msg.Channels {
			attrs, perr := rt.channelAttrs(ctx, ch, p.info, false)
			if perr != nil {
				return perr.send(c)
			}
			out[i] = attrs
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"batch": out})
}

// channelAttrs computes the info attributes of ch: user_count for
// presence channels, subscription_count for the others. strict refuses an
// attribute the channel type lacks (GET /channels/:name) instead of
// leaving it out.
func (rt Routes) channelAttrs(ctx context.Context, ch string, info []string, strict bool) (map[string]int, *apiErr) {
	attrs := make(map[string]int, len(info))
	presence := broadcast.KindOf(ch) == broadcast.KindPresence
	for _, a := range info {
		var n int
		var err error
		switch {
		case a == "cache":
			continue // channelInfo answers it
		case a == "user_count" && presence:
			var ids []string
			ids, err = rt.PusherAPI.PresenceUserIDs(ctx, ch)
			n = len(ids)
		case a == "subscription_count" && !presence:
			n, err = rt.PusherAPI.SubscriptionCount(ctx, ch)
		case strict:
			return nil, badRequest("info %s is not available for %s channels", a, broadcast.KindOf(ch))
		default:
			continue
		}
		if err != nil {
			return nil, &apiErr{http.StatusInternalServerError, "internal", fmt.Sprintf("%s of %s: %v", a, ch, err)}
		}
		attrs[a] = n
	}
	return attrs, nil
}
