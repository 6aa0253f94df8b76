package middleware

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
)

// Unexported context key types; values can only be set through this package.
type (
	userKey   struct{}
	tokenKey  struct{}
	expiryKey struct{}
)

// WithUser returns a copy of ctx carrying user. The middleware calls it for
// every authenticated request; tests and other transports may call it too.
func WithUser(ctx context.Context, user any) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

// UserFromContext returns the authenticated user stored in ctx. ok is false
// for anonymous requests (no user, or a nil user).
func UserFromContext(ctx context.Context) (user any, ok bool) {
	user = ctx.Value(userKey{})
	return user, user != nil
}

// UserFrom returns the authenticated user of an Echo request. It reads the
// request context, so it sees the same value as plain net/http handlers.
func UserFrom(c echo.Context) (any, bool) {
	return UserFromContext(c.Request().Context())
}

// UserAs returns the authenticated user of an Echo request as type T (for
// example *User, or the app's type produced by Config.UserFromClaims). ok is
// false when the request is anonymous or the user is not a T.
func UserAs[T any](c echo.Context) (T, bool) {
	u, ok := UserFrom(c)
	if !ok {
		var zero T
		return zero, false
	}
	t, ok := u.(T)
	return t, ok
}

// WithToken returns a copy of ctx carrying the raw, already verified token.
func WithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// TokenFromContext returns the raw token the request was authenticated with.
func TokenFromContext(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tokenKey{}).(string)
	return t, ok && t != ""
}

// WithExpiry returns a copy of ctx carrying the token's expiry time.
func WithExpiry(ctx context.Context, exp time.Time) context.Context {
	return context.WithValue(ctx, expiryKey{}, exp)
}

// ExpiryFromContext returns the expiry ("exp") of the token the request was
// authenticated with; ok is false when the token had no "exp" claim.
// Long-lived connections should end subscriptions at that time.
func ExpiryFromContext(ctx context.Context) (time.Time, bool) {
	exp, ok := ctx.Value(expiryKey{}).(time.Time)
	return exp, ok
}
