package middleware

import (
	"errors"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignHS256 issues an HS256 token for tests and demo apps. The claims are
// extra (copied, never modified), then "sub" (when non-empty), "iat" = now
// and, when ttl is non-zero, "exp" = now+ttl; a negative ttl therefore
// yields an already expired token and ttl 0 keeps any "exp" from extra.
func SignHS256(secret []byte, sub string, ttl time.Duration, extra jwt.MapClaims) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("jwt: empty HMAC secret")
	}
	claims := jwt.MapClaims{}
	maps.Copy(claims, extra)
	now := time.Now()
	if sub != "" {
		claims["sub"] = sub
	}
	claims["iat"] = now.Unix()
	if ttl != 0 {
		claims["exp"] = now.Add(ttl).Unix()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
