package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier verifies tokens independently of Echo, so the HTTP middleware, a
// WebSocket handshake and a subscribe message's "auth" field all apply the
// same rules. It is immutable and safe for concurrent use.
type Verifier struct {
	key        any            // normalized Config.SigningKey, may be nil
	keys       map[string]any // normalized Config.SigningKeys by kid
	allowed    map[string]bool
	parser     *jwt.Parser
	extractors []extractor
	newClaims  func() jwt.Claims
	toUser     func(jwt.Claims) (any, error)
	requireExp bool // refuse tokens without "exp"
}

// NewVerifier validates cfg, applies defaults and returns a Verifier.
// Skipper, ErrorHandler and Optional are ignored (they are middleware-only).
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{newClaims: cfg.NewClaims, toUser: cfg.UserFromClaims,
		requireExp: cfg.RequireExpiry || !cfg.AllowNoExpiry}
	if cfg.SigningKey == nil && len(cfg.SigningKeys) == 0 {
		return nil, errors.New("jwt middleware: SigningKey or SigningKeys is required")
	}
	var all []any
	if cfg.SigningKey != nil {
		k, err := normalizeKey(cfg.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("jwt middleware: SigningKey: %w", err)
		}
		v.key, all = k, append(all, k)
	}
	v.keys = make(map[string]any, len(cfg.SigningKeys))
	for kid, raw := range cfg.SigningKeys {
		k, err := normalizeKey(raw)
		if err != nil {
			return nil, fmt.Errorf("jwt middleware: SigningKeys[%q]: %w", kid, err)
		}
		v.keys[kid], all = k, append(all, k)
	}
	methods := cfg.SigningMethods
	if len(methods) == 0 {
		methods = []string{jwt.SigningMethodHS256.Alg()}
	}
	var err error
	if v.allowed, err = checkMethods(methods, all); err != nil {
		return nil, fmt.Errorf("jwt middleware: %w", err)
	}
	lookup := cfg.TokenLookup
	if lookup == "" {
		lookup = DefaultTokenLookup
	}
	if v.extractors, err = parseTokenLookup(lookup); err != nil {
		return nil, fmt.Errorf("jwt middleware: %w", err)
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("jwt middleware: Leeway must not be negative")
	}
	if v.newClaims == nil {
		v.newClaims = func() jwt.Claims { return jwt.MapClaims{} }
	} else if v.newClaims() == nil {
		return nil, errors.New("jwt middleware: NewClaims returned nil")
	}
	if v.toUser == nil {
		v.toUser = DefaultUserFromClaims
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(slices.Clone(methods)), jwt.WithLeeway(cfg.Leeway)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// TokenFromRequest returns the first non-empty token found in r using the
// configured TokenLookup sources, in order. It works on any *http.Request,
// e.g. a WebSocket handshake outside Echo.
func (v *Verifier) TokenFromRequest(r *http.Request) (string, bool) {
	for _, extract := range v.extractors {
		if tok, ok := extract(r); ok {
			return tok, true
		}
	}
	return "", false
}

// Verify checks token (the raw compact JWT, without a "Bearer " prefix) and
// returns the mapped user and the decoded claims. Errors wrap one of the
// package's sentinel errors plus the underlying jwt error.
func (v *Verifier) Verify(token string) (user any, claims jwt.Claims, err error) {
	if token == "" {
		return nil, nil, ErrTokenMissing
	}
	parsed, err := v.parser.ParseWithClaims(token, v.newClaims(), v.keyFunc)
	if err != nil {
		return nil, nil, v.classify(parsed, err)
	}
	if !parsed.Valid {
		return nil, nil, fmt.Errorf("%w: token not marked valid", ErrTokenInvalid)
	}
	if _, ok := ExpiresAt(parsed.Claims); v.requireExp && !ok {
		return nil, nil, fmt.Errorf("%w: %w", ErrTokenInvalid, ErrTokenNoExpiry)
	}
	user, err = v.toUser(parsed.Claims)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if user == nil {
		return nil, nil, fmt.Errorf("%w: UserFromClaims returned no user", ErrTokenInvalid)
	}
	return user, parsed.Claims, nil
}

// keyFunc selects the verification key for t and refuses any key whose type
// does not belong to t's algorithm family.
func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	if !v.allowed[alg] {
		return nil, fmt.Errorf("%w: %q", ErrTokenAlgorithm, alg)
	}
	key := v.key
	if len(v.keys) > 0 {
		raw, present := t.Header["kid"]
		kid, isString := raw.(string)
		switch {
		case present && !isString:
			return nil, fmt.Errorf("%w: kid header is not a string", ErrUnknownKey)
		case !present && key == nil:
			return nil, fmt.Errorf("%w: token has no kid header", ErrUnknownKey)
		case present:
			k, ok := v.keys[kid]
			if !ok {
				return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
			}
			key = k
		}
	}
	if !keyMatches(t.Method, key) {
		return nil, fmt.Errorf("%w: %q cannot be verified with a %T key", ErrTokenAlgorithm, alg, key)
	}
	return key, nil
}

// classify wraps a jwt parse error with the matching sentinel error.
func (v *Verifier) classify(t *jwt.Token, err error) error {
	switch {
	case errors.Is(err, ErrTokenAlgorithm), errors.Is(err, ErrUnknownKey):
		return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	case t != nil && t.Header != nil && !v.allowed[fmt.Sprint(t.Header["alg"])]:
		// jwt.WithValidMethods refused the alg before keyFunc ran.
		return fmt.Errorf("%w: %w: %q: %w", ErrTokenInvalid, ErrTokenAlgorithm, fmt.Sprint(t.Header["alg"]), err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %w", ErrTokenExpired, err)
	default:
		return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
}

// ExpiresAt returns the "exp" claim of claims, if present and well-formed.
func ExpiresAt(claims jwt.Claims) (time.Time, bool) {
	if claims == nil {
		return time.Time{}, false
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}, false
	}
	return exp.Time, true
}
