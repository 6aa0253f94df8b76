package middleware

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// User is the default authenticated user produced by
// [DefaultUserFromClaims].
type User struct {
	// ID is the token's "sub" claim.
	ID string
	// Claims holds all claims when they were decoded as jwt.MapClaims
	// (the default); it is nil for custom claim types.
	Claims jwt.MapClaims
}

// GetAuthIdentifier returns the user's identifier (the "sub" claim), the
// value channel authorization callbacks use to identify the user.
func (u *User) GetAuthIdentifier() string {
	if u == nil {
		return ""
	}
	return u.ID
}

// DefaultUserFromClaims is the default [Config.UserFromClaims]. It returns a
// *User whose ID is the "sub" claim and fails when "sub" is absent or empty,
// since a broadcast user must be identifiable.
func DefaultUserFromClaims(claims jwt.Claims) (any, error) {
	sub, err := claims.GetSubject()
	if err != nil {
		return nil, fmt.Errorf("reading sub claim: %w", err)
	}
	if sub == "" {
		return nil, errors.New("token has no sub claim")
	}
	mc, _ := claims.(jwt.MapClaims)
	return &User{ID: sub, Claims: mc}, nil
}
