package routes

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/middleware"
)

// UserAuthPath is where the Pusher user sign-in endpoint is mounted
// (laravel-echo's default userAuthentication endpoint).
const UserAuthPath = "/broadcasting/user-auth"

// UserAuth answers POST /broadcasting/user-auth, which pusher-js calls
// for pusher.signin() with a form-encoded (or JSON) socket_id: 200
// {"auth":"key:sig","user_data":"{\"id\":\"…\"}"} signed for that socket
// (HMAC-SHA256 of "socket_id::user::user_data"), 400 for a malformed socket id, 401 without a valid
// user (with the codes of ChannelAuth), 403 for a user without an id.
// The id is always a string, as pusher-js requires.
func (rt Routes) UserAuth(c echo.Context) error {
	socketID, err := bindSocketID(c)
	if err != nil {
		return fail(c, http.StatusBadRequest, "bad_request", "socket_id is required")
	}
	if !broadcast.ValidSocketID(socketID) {
		return fail(c, http.StatusBadRequest, "invalid_socket_id", "socket_id must look like 1234.5678")
	}
	user, err := rt.User(c.Request())
	if err != nil {
		return fail(c, http.StatusUnauthorized, middleware.ErrorCode(err), err.Error())
	}
	if user == nil {
		return fail(c, http.StatusUnauthorized, middleware.CodeTokenMissing, "authentication required")
	}
	id := broadcast.UserID(user)
	if id == "" {
		return fail(c, http.StatusForbidden, "no_user_id", "the user has no id to sign in with")
	}
	data, err := json.Marshal(struct {
		ID string `json:"id"`
	}{id})
	if err != nil {
		return fail(c, http.StatusInternalServerError, "internal", "encode user data")
	}
	rt.signing()
	return c.JSON(http.StatusOK, struct {
		Auth     string `json:"auth"`
		UserData string `json:"user_data"`
	}{signature.UserAuth(rt.App, socketID, string(data)), string(data)})
}

// bindSocketID reads socket_id from a JSON or form body.
func bindSocketID(c echo.Context) (string, error) {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 8<<10)
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		var req struct {
			SocketID string `json:"socket_id"`
		}
		err := json.NewDecoder(r.Body).Decode(&req)
		return req.SocketID, err
	}
	if err := r.ParseForm(); err != nil {
		return "", err
	}
	return r.FormValue("socket_id"), nil
}
