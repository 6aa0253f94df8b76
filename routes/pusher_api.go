package routes

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// DefaultMaxPayloadBytes is the default bound on the data of one event
// published through the Pusher HTTP API: 10 KiB, as Pusher.
const DefaultMaxPayloadBytes = 10 * 1024

// Limits of the Pusher HTTP API.
const (
	MaxChannelsPerEvent = 100
	MaxBatchEvents      = 10
)

// userChannelPrefix starts the internal channel of a signed-in user
// (pusher-js listens to "#server-to-user-{id}"; the node SDK's sendToUser
// publishes to it).
const userChannelPrefix = "#server-to-user-"

// PusherBackend is what the Pusher HTTP API needs from the server that
// holds the connections; *websocket.Server implements it.
type PusherBackend interface {
	// OccupiedChannels lists the channels with subscribers whose names
	// start with prefix.
	OccupiedChannels(ctx context.Context, prefix string) ([]string, error)
	// SubscriptionCount counts the connections subscribed to channel.
	SubscriptionCount(ctx context.Context, channel string) (int, error)
	// PresenceUserIDs lists the distinct users of a presence channel.
	PresenceUserIDs(ctx context.Context, channel string) ([]string, error)
	// PublishToUser sends an event to the connections signed in as userID.
	PublishToUser(ctx context.Context, userID, event string, data json.RawMessage) error
	// TerminateUserConnections closes the connections signed in as userID.
	TerminateUserConnections(ctx context.Context, userID string) error
}

// mountPusherAPI registers the Pusher HTTP API under
// PusherPrefix. Where the sources disagree:
//
//   - Requests are signed (auth_version 1.0) and auth_timestamp must lie
//     within ±600 s (Pusher; Reverb and Soketi do not check). Replays are
//     refused only with a ReplayGuard (409), and only for POST: two
//     identical publishes within one second are normal SDK use and carry
//     the same signature, and a GET changes nothing. body_md5 is recomputed from
//     the raw body. The signed path is the path from /apps on, without
//     PusherPrefix (and the prefix of the Echo group mounted on), as the
//     PHP SDK signs it.
//   - Every failure is a JSON object {"error": code, "message": text}: 401
//     for signing problems, 404 for an unknown app id, 413 for data over
//     MaxPayloadBytes (default 10 KiB, Pusher; Reverb 10 000 B of request,
//     Soketi 100 KiB) or a body over 11×MaxPayloadBytes+64 KiB, 400 for
//     everything else (Reverb answers 422 for non-string data).
//   - Success is HTTP 200 with {} (Pusher, Reverb; Soketi {"ok":true}); with
//     info, {"channels":{…}} or {"batch":[…]}, objects even when empty.
//   - "channel" (PHP SDK) and "channels" (node SDK) are both accepted, not
//     together; ≤ 100 channels, ≤ 10 events per batch, and a batch is
//     checked whole before any event is published. Event names are not
//     restricted beyond broadcast.ValidateEvent (the names the protocols
//     reserve), so Laravel's "App\Events\X" names work.
//   - user_count is for presence channels and subscription_count for the
//     others; GET /channels/:name answers 400 for the other one, POST
//     /events leaves it out. Cache channels are not supported.
//   - #server-to-user-{id} channels (sendToUser) are published through the
//     backend, the others through the Broadcaster, so native and Pusher
//     clients both get them.
func (rt Routes) mountPusherAPI(r Router) {
	base := rt.PusherPrefix + "/apps/:id"
	r.Add(http.MethodPost, base+"/events", rt.pusherSigned(rt.triggerEvents))
	r.Add(http.MethodPost, base+"/batch_events", rt.pusherSigned(rt.triggerBatch))
	r.Add(http.MethodGet, base+"/channels", rt.pusherSigned(rt.listChannels))
	r.Add(http.MethodGet, base+"/channels/:name", rt.pusherSigned(rt.channelInfo))
	r.Add(http.MethodGet, base+"/channels/:name/users", rt.pusherSigned(rt.channelUsers))
	r.Add(http.MethodPost, base+"/users/:uid/terminate_connections", rt.pusherSigned(rt.terminateUser))
}

func (rt Routes) maxPayload() int {
	if rt.MaxPayloadBytes > 0 {
		return rt.MaxPayloadBytes
	}
	return DefaultMaxPayloadBytes
}

// pusherSigned reads the body and checks the app id and the request
// signature (Pusher's request signing: auth_key, auth_timestamp within ±600 s,
// body_md5, auth_signature over the path from /apps on, without the
// group's prefix and PusherPrefix) before calling h.
func (rt Routes) pusherSigned(h func(c echo.Context, body []byte) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Param("id") != rt.App.ID {
			return fail(c, http.StatusNotFound, "app_not_found", "unknown app id "+truncate(c.Param("id")))
		}
		r := c.Request()
		// A batch may carry MaxBatchEvents full payloads plus names.
		limit := int64(rt.maxPayload())*(MaxBatchEvents+1) + 64<<10
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return fail(c, http.StatusRequestEntityTooLarge, "payload_too_large", "request body over "+strconv.FormatInt(limit, 10)+" bytes")
			}
			return fail(c, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
		}
		path := signedPath(c.Path(), r.URL.Path)
		if err := signature.VerifyRequest(rt.App, r.Method, path, r.URL.Query(), body, time.Now(), 0); err != nil {
			return fail(c, http.StatusUnauthorized, signatureErrorCode(err), err.Error())
		}
		if rt.ReplayGuard != nil && r.Method == http.MethodPost {
			if status, code, msg := rt.checkReplay(r); status != 0 {
				return fail(c, status, code, msg)
			}
		}
		return h(c, body)
	}
}

// signedPath is the part of path that Pusher SDKs sign: from /apps/:id on.
// route is the pattern the request matched, whose segments before
// /apps/:id (a group's prefix, PusherPrefix) are cut from path.
func signedPath(route, path string) string {
	i := strings.LastIndex(route, "/apps/:id/")
	if i < 0 {
		return path
	}
	for n := strings.Count(route[:i], "/"); n > 0; n-- {
		j := strings.IndexByte(path[1:], '/')
		if j < 0 {
			return path
		}
		path = path[j+1:]
	}
	return path
}

// signatureErrorCode names a request-signing failure for the JSON body.
func signatureErrorCode(err error) string {
	switch {
	case errors.Is(err, signature.ErrStaleTimestamp):
		return "stale_timestamp"
	case errors.Is(err, signature.ErrBodyMD5):
		return "body_md5_mismatch"
	case errors.Is(err, signature.ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, signature.ErrMissingParam), errors.Is(err, signature.ErrMalformedParam):
		return "invalid_auth_params"
	}
	return "invalid_signature"
}

// decodeJSON decodes a JSON object body into v.
func decodeJSON(body []byte, v any) error {
	t := strings.TrimSpace(string(body))
	if t == "" || t[0] != '{' {
		return errors.New("body must be a JSON object")
	}
	return json.Unmarshal([]byte(t), v)
}

// messageData converts the data string of a publish into the payload both
// protocols share: the string's own JSON when it is a JSON object, array,
// number, boolean or null, so native clients get it parsed; else the
// string as a JSON string. The Pusher codec sends Pusher clients the
// original string unchanged in both cases.
func messageData(s string) json.RawMessage {
	t := strings.TrimLeft(s, " \t\r\n")
	if t != "" && t[0] != '"' && json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	q, _ := json.Marshal(s)
	return q
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
