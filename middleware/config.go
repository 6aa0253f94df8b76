package middleware

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// DefaultTokenLookup is the default [Config.TokenLookup]: the Authorization
// header with a "Bearer " prefix, then the "token" query parameter (needed
// by browser WebSocket clients, which cannot set headers), then the "token"
// cookie.
const DefaultTokenLookup = "header:Authorization:Bearer ,query:token,cookie:token"

// Config configures the JWT middleware and the [Verifier] behind it.
// Only SigningKey or SigningKeys is required.
type Config struct {
	// Skipper decides whether a request bypasses the middleware entirely.
	// Default: never skip.
	Skipper func(c echo.Context) bool

	// ErrorHandler turns an authentication failure into the response. Its
	// return value is returned by the middleware; returning nil means the
	// handler wrote the response itself and the chain stops.
	// Default: [DefaultErrorHandler] (401 JSON {"error","message"}).
	ErrorHandler func(c echo.Context, err error) error

	// SigningKey verifies tokens when SigningKeys is empty, or tokens without
	// a "kid" header when SigningKeys is set. Accepted types: []byte (HMAC),
	// *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey; private keys of
	// those families are reduced to their public half.
	SigningKey any

	// SigningKeys maps a "kid" header value to a key (same types as
	// SigningKey). A token whose kid is not in the map is rejected with
	// [ErrUnknownKey].
	SigningKeys map[string]any

	// SigningMethods pins the accepted "alg" values, e.g. ["RS256"].
	// Default: ["HS256"]. "none" is always refused. Every method needs at
	// least one configured key of the matching type.
	SigningMethods []string

	// TokenLookup lists where to look for the token, tried in order, as
	// comma-separated "<source>:<name>[:<prefix>]" entries with source one
	// of header, query or cookie. The prefix (header only) is matched
	// case-insensitively and cut. Default: [DefaultTokenLookup].
	TokenLookup string

	// Issuer, when set, requires the "iss" claim to equal it.
	Issuer string
	// Audience, when set, requires the "aud" claim to contain it.
	Audience string
	// Leeway tolerates clock skew when checking exp, nbf and iat.
	Leeway time.Duration
	// AllowNoExpiry accepts tokens without an "exp" claim, which never
	// expire: a connection authenticated with one keeps its private and
	// presence subscriptions for as long as it lasts. Default false: such
	// tokens are refused with [ErrTokenNoExpiry]. Enable it only when
	// tokens are revoked otherwise.
	AllowNoExpiry bool
	// RequireExpiry refuses tokens without an "exp" claim even when
	// AllowNoExpiry is set. Refusing them is the default.
	RequireExpiry bool

	// NewClaims returns a fresh claims value to decode each token into
	// (a pointer for struct types). Default: jwt.MapClaims{}.
	NewClaims func() jwt.Claims
	// UserFromClaims maps verified claims to the application's user.
	// Default: [DefaultUserFromClaims], which returns a *User.
	UserFromClaims func(claims jwt.Claims) (any, error)

	// Optional lets requests without any token through anonymously (for
	// public pages and the WebSocket endpoint). A token that is present but
	// invalid or expired is still rejected.
	Optional bool
}

// normalizeKey checks that key is a supported verification key and returns
// the value to verify with (public half of private keys, copy of secrets).
func normalizeKey(key any) (any, error) {
	switch k := key.(type) {
	case []byte:
		if len(k) == 0 {
			return nil, errors.New("empty HMAC secret")
		}
		return bytes.Clone(k), nil
	case string:
		return nil, errors.New("HMAC secret must be []byte, not string")
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("nil *rsa.PublicKey")
		}
		return k, nil
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			return nil, errors.New("nil *rsa.PrivateKey")
		}
		return &k.PublicKey, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, errors.New("nil *ecdsa.PublicKey")
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k == nil || k.Curve == nil {
			return nil, errors.New("nil *ecdsa.PrivateKey")
		}
		return &k.PublicKey, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("bad ed25519.PublicKey size")
		}
		return k, nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, errors.New("bad ed25519.PrivateKey size")
		}
		return k.Public(), nil
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
}

// keyMatches reports whether key may verify tokens signed with method. This
// is what keeps an HMAC method from ever using a public key as its secret.
func keyMatches(method jwt.SigningMethod, key any) bool {
	switch m := method.(type) {
	case *jwt.SigningMethodHMAC:
		_, ok := key.([]byte)
		return ok
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case *jwt.SigningMethodECDSA:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve.Params().BitSize == m.CurveBits
	case *jwt.SigningMethodEd25519:
		_, ok := key.(ed25519.PublicKey)
		return ok
	default:
		return false
	}
}

// checkMethods validates the pinned algorithms against the configured keys.
func checkMethods(names []string, keys []any) (map[string]bool, error) {
	allowed := make(map[string]bool, len(names))
	for _, name := range names {
		m := jwt.GetSigningMethod(name)
		if m == nil || name == jwt.SigningMethodNone.Alg() {
			return nil, fmt.Errorf("signing method %q is not supported", name)
		}
		usable := false
		for _, k := range keys {
			usable = usable || keyMatches(m, k)
		}
		if !usable {
			return nil, fmt.Errorf("signing method %q has no key of a matching type", name)
		}
		allowed[name] = true
	}
	return allowed, nil
}
