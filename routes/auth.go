package routes

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/middleware"
)

// authRequest is what pusher-js (form-encoded) and our client (JSON) send.
type authRequest struct {
	SocketID    string `json:"socket_id" form:"socket_id"`
	ChannelName string `json:"channel_name" form:"channel_name"`
}

// authResponse is Pusher's answer shape; ChannelData only for presence,
// SharedSecret only for encrypted channels (it is not signed).
type authResponse struct {
	Auth         string `json:"auth"`
	ChannelData  string `json:"channel_data,omitempty"`
	SharedSecret string `json:"shared_secret,omitempty"`
}

// apiError is the JSON body of every error answer.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func fail(c echo.Context, status int, code, msg string) error {
	return c.JSON(status, apiError{Error: code, Message: msg})
}

// ChannelAuth answers POST /broadcasting/auth: 200 {"auth":"key:sig"}
// (plus "channel_data" for presence), 400 for a malformed socket id or
// channel, 401 without a valid user (token_missing, token_invalid,
// token_expired, or jwt_not_configured for a token sent while no JWT key
// is configured), 403 when the authorizer refuses. A private-encrypted-
// channel is answered with its "shared_secret" (base64) as well, or 403
// encryption_not_configured while no encryption master key is set.
func (rt Routes) ChannelAuth(c echo.Context) error {
	var req authRequest
	if err := bindAuthRequest(c, &req); err != nil {
		return fail(c, http.StatusBadRequest, "bad_request", "socket_id and channel_name are required")
	}
	if !broadcast.ValidSocketID(req.SocketID) {
		return fail(c, http.StatusBadRequest, "invalid_socket_id", "socket_id must look like 1234.5678")
	}
	if err := broadcast.ValidateChannel(req.ChannelName); err != nil {
		return fail(c, http.StatusBadRequest, "invalid_channel", err.Error())
	}
	if !broadcast.RequiresAuth(req.ChannelName) {
		return fail(c, http.StatusBadRequest, "public_channel", "public channels need no authorization")
	}
	user, err := rt.User(c.Request())
	if err != nil {
		return fail(c, http.StatusUnauthorized, middleware.ErrorCode(err), err.Error())
	}
	if user == nil {
		return fail(c, http.StatusUnauthorized, middleware.CodeTokenMissing, "authentication required")
	}
	ctx := c.Request().Context()
	if err := rt.Broadcaster.AuthorizeChannel(ctx, req.ChannelName, user); err != nil {
		switch {
		case errors.Is(err, broadcast.ErrNoMasterKey):
			return fail(c, http.StatusForbidden, "encryption_not_configured", "encrypted channels need BROADCAST_ENCRYPTION_MASTER_KEY on the server")
		case errors.Is(err, broadcast.ErrUnauthenticated):
			return fail(c, http.StatusUnauthorized, "token_missing", "authentication required")
		}
		return fail(c, http.StatusForbidden, "forbidden", "not allowed to subscribe to "+req.ChannelName)
	}
	if broadcast.IsEncrypted(req.ChannelName) {
		secret, err := rt.Broadcaster.SharedSecret(req.ChannelName)
		if err != nil {
			return fail(c, http.StatusForbidden, "encryption_not_configured", "encrypted channels need BROADCAST_ENCRYPTION_MASTER_KEY on the server")
		}
		rt.signing()
		return c.JSON(http.StatusOK, authResponse{
			Auth:         signature.ChannelAuth(rt.App, req.SocketID, req.ChannelName, ""),
			SharedSecret: base64.StdEncoding.EncodeToString(secret),
		})
	}
	if broadcast.KindOf(req.ChannelName) != broadcast.KindPresence {
		rt.signing()
		return c.JSON(http.StatusOK, authResponse{Auth: signature.ChannelAuth(rt.App, req.SocketID, req.ChannelName, "")})
	}
	m, err := rt.Broadcaster.PresenceMember(ctx, req.ChannelName, user)
	if err != nil {
		return fail(c, http.StatusForbidden, "presence_unavailable", err.Error())
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "encode presence data")
	}
	rt.signing()
	return c.JSON(http.StatusOK, authResponse{
		Auth:        signature.ChannelAuth(rt.App, req.SocketID, req.ChannelName, string(data)),
		ChannelData: string(data),
	})
}

// signing runs OnSign, if any, before an answer is signed.
func (rt Routes) signing() {
	if rt.OnSign != nil {
		rt.OnSign()
	}
}

// bindAuthRequest reads JSON or form bodies (and, as a convenience, the
// query string) without Echo's permissive fallbacks.
func bindAuthRequest(c echo.Context, req *authRequest) error {
	r := c.Request()
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		if err := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, 8<<10)).Decode(req); err != nil {
			return err
		}
	} else {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			return err
		}
		req.SocketID, req.ChannelName = r.FormValue("socket_id"), r.FormValue("channel_name")
	}
	if req.SocketID == "" || req.ChannelName == "" {
		return errors.New("missing field")
	}
	return nil
}
