package middleware

import (
	"errors"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// Sentinel errors returned by [Verifier.Verify] and passed to
// [Config.ErrorHandler]. Use errors.Is to branch on them; the underlying
// jwt/v5 error stays in the chain as well.
var (
	// ErrTokenMissing means the request carried no token in any of the
	// configured lookup sources (or Verify was given an empty string).
	ErrTokenMissing = errors.New("jwt: token missing")
	// ErrTokenInvalid means the token is malformed, badly signed, not yet
	// valid, has the wrong issuer/audience or could not be mapped to a user.
	// Errors wrapping ErrTokenAlgorithm, ErrUnknownKey or ErrTokenNoExpiry
	// also wrap this one.
	ErrTokenInvalid = errors.New("jwt: token invalid")
	// ErrTokenExpired means the signature is valid but "exp" is in the past
	// (beyond the configured leeway). It does not wrap ErrTokenInvalid.
	ErrTokenExpired = errors.New("jwt: token expired")
	// ErrTokenAlgorithm means the token's "alg" is not in
	// Config.SigningMethods or cannot be used with the selected key type.
	ErrTokenAlgorithm = errors.New("jwt: signing algorithm not allowed")
	// ErrTokenNoExpiry means the token has no "exp" claim, and
	// Config.AllowNoExpiry is not set.
	ErrTokenNoExpiry = errors.New("jwt: token has no exp claim")
	// ErrUnknownKey means the token's "kid" header names no configured key.
	ErrUnknownKey = errors.New("jwt: unknown signing key")
	// ErrJWTNotConfigured means a request carried a token while no key is
	// configured to verify it: the token is neither accepted nor taken for
	// anonymous, so a missing JWT_SECRET or JWT_PUBLIC_KEY is not mistaken
	// for a client sending no token. Its text is the message of the 401
	// answer.
	ErrJWTNotConfigured = errors.New("a token was sent but no JWT key is configured (set JWT_SECRET or JWT_PUBLIC_KEY)")
)

// Stable error codes used in the "error" field of the default 401 body.
const (
	CodeTokenMissing = "token_missing"
	CodeTokenInvalid = "token_invalid"
	CodeTokenExpired = "token_expired"
	// CodeTokenNoExpiry answers a token without an "exp" claim
	// ([ErrTokenNoExpiry]).
	CodeTokenNoExpiry = "token_no_expiry"
	// CodeJWTNotConfigured answers a token sent while no JWT key is
	// configured ([ErrJWTNotConfigured]).
	CodeJWTNotConfigured = "jwt_not_configured"
)

// ErrorCode maps an error from [Verifier.Verify] or the middleware to one of
// [CodeJWTNotConfigured], [CodeTokenMissing], [CodeTokenExpired],
// [CodeTokenNoExpiry] or [CodeTokenInvalid] (the fallback).
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrJWTNotConfigured):
		return CodeJWTNotConfigured
	case errors.Is(err, ErrTokenMissing):
		return CodeTokenMissing
	case errors.Is(err, ErrTokenExpired), errors.Is(err, jwt.ErrTokenExpired):
		return CodeTokenExpired
	case errors.Is(err, ErrTokenNoExpiry):
		return CodeTokenNoExpiry
	default:
		return CodeTokenInvalid
	}
}

var errorMessages = map[string]string{
	CodeTokenMissing:     "authentication token is missing",
	CodeTokenInvalid:     "authentication token is invalid",
	CodeTokenExpired:     "authentication token has expired",
	CodeTokenNoExpiry:    "authentication token has no expiry (exp claim)",
	CodeJWTNotConfigured: ErrJWTNotConfigured.Error(),
}

// DefaultErrorHandler is the default [Config.ErrorHandler]. It sets a
// WWW-Authenticate: Bearer header and returns a 401 *echo.HTTPError whose
// message is the JSON object {"error":"<code>","message":"..."}; the original
// error is kept as the HTTPError's Internal error for logging. With Echo's
// default HTTP error handler this renders exactly that JSON body.
func DefaultErrorHandler(c echo.Context, err error) error {
	code := ErrorCode(err)
	challenge := "Bearer"
	if code != CodeTokenMissing {
		challenge = `Bearer error="invalid_token"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	body := echo.Map{"error": code, "message": errorMessages[code]}
	return echo.NewHTTPError(http.StatusUnauthorized, body).WithInternal(err)
}
