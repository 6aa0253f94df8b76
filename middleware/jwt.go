package middleware

import (
	"github.com/labstack/echo/v4"
)

// JWT returns the JWT middleware for cfg and panics if cfg is invalid. Use it
// in startup code; use [Config.ToMiddleware] to handle the error instead.
func JWT(cfg Config) echo.MiddlewareFunc {
	mw, err := cfg.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

// ToMiddleware validates cfg and returns the JWT middleware. On success the
// user, raw token and expiry are stored in the request context (see
// [UserFromContext], [TokenFromContext], [ExpiryFromContext]); failures go
// to cfg.ErrorHandler with one of the package's sentinel errors.
func (cfg Config) ToMiddleware() (echo.MiddlewareFunc, error) {
	v, err := NewVerifier(cfg)
	if err != nil {
		return nil, err
	}
	skip := cfg.Skipper
	if skip == nil {
		skip = func(echo.Context) bool { return false }
	}
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	optional := cfg.Optional

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			req := c.Request()
			token, found := v.TokenFromRequest(req)
			if !found {
				if optional {
					return next(c)
				}
				return onError(c, ErrTokenMissing)
			}
			user, claims, err := v.Verify(token)
			if err != nil {
				return onError(c, err)
			}
			ctx := WithToken(WithUser(req.Context(), user), token)
			if exp, ok := ExpiresAt(claims); ok {
				ctx = WithExpiry(ctx, exp)
			}
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}, nil
}
