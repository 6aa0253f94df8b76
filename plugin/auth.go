package plugin

import (
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/middleware"
)

// setupAuth builds the user resolver: WithUserResolver, else a JWT
// verifier from WithJWT or the JWT_* variables, else anonymous only.
func (p *Plugin) setupAuth(o options) error {
	if o.userFn != nil {
		p.userFn = o.userFn
		return nil
	}
	mwCfg := o.jwt
	if mwCfg == nil {
		c, ok, err := jwtConfig(p.cfg)
		if err != nil || !ok {
			return err
		}
		mwCfg = &c
	}
	v, err := middleware.NewVerifier(*mwCfg)
	if err != nil {
		return fmt.Errorf("plugin: JWT: %w", err)
	}
	p.verifier = v
	return nil
}

// verifyToken checks a JWT and returns its user and expiry.
func (p *Plugin) verifyToken(tok string) (websocket.Identity, error) {
	user, claims, err := p.verifier.Verify(tok)
	if err != nil {
		return websocket.Identity{}, err
	}
	exp, _ := middleware.ExpiresAt(claims)
	return websocket.Identity{User: user, Expires: exp}, nil
}

// identify finds who a request speaks for: a user the app's middleware
// put in its context, else the resolver, else a JWT from the request
// (header, query or cookie). A zero Identity is anonymous; a token while
// no JWT key is configured is middleware.ErrJWTNotConfigured.
func (p *Plugin) identify(r *http.Request) (websocket.Identity, error) {
	if u, ok := middleware.UserFromContext(r.Context()); ok {
		exp, _ := middleware.ExpiryFromContext(r.Context())
		return websocket.Identity{User: u, Expires: exp}, nil
	}
	if p.userFn != nil {
		u, err := p.userFn(r)
		return websocket.Identity{User: u}, err
	}
	if p.verifier == nil {
		if middleware.HasToken(r) {
			return websocket.Identity{}, middleware.ErrJWTNotConfigured
		}
		return websocket.Identity{}, nil
	}
	tok, ok := p.verifier.TokenFromRequest(r)
	if !ok {
		return websocket.Identity{}, nil
	}
	return p.verifyToken(tok)
}

// Verifier returns the JWT verifier, or nil when no JWT is configured.
func (p *Plugin) Verifier() *middleware.Verifier { return p.verifier }

// jwtConfig derives the middleware configuration from JWT_SECRET or
// JWT_PUBLIC_KEY; ok is false when neither is set.
func jwtConfig(c Config) (middleware.Config, bool, error) {
	switch {
	case c.JWTSecret != "" && c.JWTPublicKey != "":
		return middleware.Config{}, false, fmt.Errorf("%w: JWT_SECRET and JWT_PUBLIC_KEY are both set; choose one", ErrInvalidConfig)
	case c.JWTSecret != "":
		return middleware.Config{
			SigningKey:     []byte(c.JWTSecret),
			SigningMethods: orDefault(c.JWTAlgorithms, "HS256"),
			Issuer:         c.JWTIssuer, Audience: c.JWTAudience,
			AllowNoExpiry: c.JWTAllowNoExpiry,
		}, true, nil
	case c.JWTPublicKey != "":
		key, alg, err := parsePublicKey(c.JWTPublicKey)
		if err != nil {
			return middleware.Config{}, false, fmt.Errorf("%w: JWT_PUBLIC_KEY: %v", ErrInvalidConfig, err)
		}
		return middleware.Config{
			SigningKey:     key,
			SigningMethods: orDefault(c.JWTAlgorithms, alg),
			Issuer:         c.JWTIssuer, Audience: c.JWTAudience,
			AllowNoExpiry: c.JWTAllowNoExpiry,
		}, true, nil
	}
	return middleware.Config{}, false, nil
}

func orDefault(list []string, def string) []string {
	if len(list) > 0 {
		return list
	}
	return []string{def}
}

// parsePublicKey reads a PEM public key given inline or as a file path and
// returns it with its natural algorithm.
func parsePublicKey(v string) (crypto.PublicKey, string, error) {
	pem := []byte(strings.ReplaceAll(v, `\n`, "\n"))
	if !strings.Contains(v, "-----BEGIN") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, "", err
		}
		pem = b
	}
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pem); err == nil {
		return k, "RS256", nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(pem); err == nil {
		return k, "ES256", nil
	}
	if k, err := jwt.ParseEdPublicKeyFromPEM(pem); err == nil {
		return k, "EdDSA", nil
	}
	return nil, "", errors.New("not an RSA, ECDSA or Ed25519 public key in PEM")
}
