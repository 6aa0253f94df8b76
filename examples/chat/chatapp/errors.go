package chatapp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiError is the JSON body of every error answer, like the plugin's:
// {"error":"unknown_room","message":"room \"x\" does not exist"}.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// fail answers status with an apiError body.
func fail(c echo.Context, status int, code, msg string) error {
	return c.JSON(status, apiError{Error: code, Message: msg})
}

// errorHandler renders Echo's errors (404, 413, JWT 401 …) as apiError.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := http.StatusInternalServerError, any(apiError{Error: "internal", Message: "internal error"})
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch m := he.Message.(type) {
		case string:
			body = apiError{Error: strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_"), Message: m}
		default:
			body = m // the JWT middleware's {"error","message"}
		}
	} else {
		c.Logger().Error(err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// MaxBodyBytes bounds JSON request bodies.
const MaxBodyBytes = 16 << 10

// decodeJSON reads one JSON object of at most MaxBodyBytes into v.
func decodeJSON(c echo.Context, v any) error {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, MaxBodyBytes)
	return json.NewDecoder(body).Decode(v)
}

// badBody answers a decodeJSON failure: 413 when the body is too large,
// else 400 with want as the message.
func badBody(c echo.Context, err error, want string) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fail(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body is over 16 KB")
	}
	return fail(c, http.StatusBadRequest, "bad_request", want)
}
