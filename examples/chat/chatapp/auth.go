package chatapp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

// MaxNameRunes bounds display names.
const MaxNameRunes = 32

// User is the signed-in user, decoded from the JWT by the verifier.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// GetAuthIdentifier is the id broadcast.UserID reads (presence, whispers).
func (u *User) GetAuthIdentifier() string { return u.ID }

// session is the answer of POST /login and POST /token.
type session struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expires_at"`
	User      *User  `json:"user"`
}

// jwtConfig is shared by the plugin (WebSocket, /broadcasting/auth) and
// the API routes: HS256, expiry required, users as *User.
func jwtConfig(secret []byte) middleware.Config {
	return middleware.Config{
		SigningKey:     secret,
		SigningMethods: []string{"HS256"},
		RequireExpiry:  true,
		UserFromClaims: userFromClaims,
	}
}

func userFromClaims(c jwt.Claims) (any, error) {
	mc, _ := c.(jwt.MapClaims)
	sub, _ := mc["sub"].(string)
	name, _ := mc["name"].(string)
	if sub == "" || name == "" {
		return nil, errors.New("token needs sub and name claims")
	}
	return &User{ID: sub, Name: name}, nil
}

// login answers POST /login {"name":"alice"} with a token for a new user
// id (a demo sign-in: no password).
func (a *App) login(c echo.Context) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return badBody(c, err, `body must be JSON {"name":"..."}`)
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return fail(c, http.StatusUnprocessableEntity, "invalid_name", err.Error())
	}
	return a.issue(c, http.StatusOK, &User{ID: newID(), Name: name})
}

// refreshToken answers POST /token (Bearer JWT, still valid) with a fresh
// token for the same user: the page's tokenProvider.
func (a *App) refreshToken(c echo.Context) error {
	u, ok := middleware.UserAs[*User](c)
	if !ok {
		return fail(c, http.StatusUnauthorized, "token_invalid", "authentication token is invalid")
	}
	return a.issue(c, http.StatusOK, u)
}

func (a *App) issue(c echo.Context, status int, u *User) error {
	tok, err := middleware.SignHS256(a.opts.Secret, u.ID, a.opts.TokenTTL, jwt.MapClaims{"name": u.Name})
	if err != nil {
		return err
	}
	return c.JSON(status, session{Token: tok, ExpiresAt: time.Now().Add(a.opts.TokenTTL).Unix(), User: u})
}

// cleanName trims a display name and checks its length and characters.
// HTML is allowed: the page always renders names as text.
func cleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return "", errors.New("name must be valid UTF-8")
	case n == 0:
		return "", errors.New("name is required")
	case n > MaxNameRunes:
		return "", errors.New("name is too long (at most 32 characters)")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", errors.New("name must not contain control characters")
	}
	return s, nil
}

// newID returns a random id, also used for messages and notifications.
func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
