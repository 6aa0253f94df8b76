package middleware_test

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/velocitykode/velocity/middleware"
)

func TestConfigValidation(t *testing.T) {
	k := keys()
	tests := []struct {
		name    string
		cfg     middleware.Config
		wantErr string // substring; "" means valid
	}{
		{name: "defaults with secret", cfg: middleware.Config{SigningKey: secret}},
		{name: "no keys", cfg: middleware.Config{}, wantErr: "SigningKey or SigningKeys is required"},
		{name: "empty keys map", cfg: middleware.Config{SigningKeys: map[string]any{}}, wantErr: "required"},
		{name: "unknown lookup source", cfg: middleware.Config{SigningKey: secret, TokenLookup: "header:Authorization:Bearer ,form:token"}, wantErr: `unknown token lookup source "form"`},
		{name: "lookup without name", cfg: middleware.Config{SigningKey: secret, TokenLookup: "query"}, wantErr: "want <source>:<name>"},
		{name: "lookup trailing comma", cfg: middleware.Config{SigningKey: secret, TokenLookup: "query:token,"}, wantErr: "want <source>:<name>"},
		{name: "prefix on query", cfg: middleware.Config{SigningKey: secret, TokenLookup: "query:token:Bearer "}, wantErr: "only header sources take a prefix"},
		{name: "string secret", cfg: middleware.Config{SigningKey: "secret"}, wantErr: "must be []byte"},
		{name: "empty secret", cfg: middleware.Config{SigningKey: []byte{}}, wantErr: "empty HMAC secret"},
		{name: "unsupported key type", cfg: middleware.Config{SigningKey: 42}, wantErr: "unsupported key type int"},
		{name: "bad key in map names kid", cfg: middleware.Config{SigningKeys: map[string]any{"k9": "x"}}, wantErr: `SigningKeys["k9"]`},
		{name: "alg none refused", cfg: middleware.Config{SigningKey: secret, SigningMethods: []string{"none"}}, wantErr: `"none" is not supported`},
		{name: "unknown alg", cfg: middleware.Config{SigningKey: secret, SigningMethods: []string{"XS999"}}, wantErr: `"XS999" is not supported`},
		{name: "HS256 with RSA key only", cfg: middleware.Config{SigningKey: &k.rsa.PublicKey}, wantErr: `"HS256" has no key of a matching type`},
		{name: "RS256 with secret only", cfg: middleware.Config{SigningKey: secret, SigningMethods: []string{"RS256"}}, wantErr: `"RS256" has no key`},
		{name: "ES384 with P-256 key", cfg: middleware.Config{SigningKey: &k.ec.PublicKey, SigningMethods: []string{"ES384"}}, wantErr: `"ES384" has no key`},
		{name: "RSA private key reduced to public", cfg: middleware.Config{SigningKey: k.rsa, SigningMethods: []string{"RS256", "PS256"}}},
		{name: "negative leeway", cfg: middleware.Config{SigningKey: secret, Leeway: -1}, wantErr: "Leeway"},
		{name: "NewClaims returning nil", cfg: middleware.Config{SigningKey: secret, NewClaims: func() jwt.Claims { return nil }}, wantErr: "NewClaims returned nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := tt.cfg.ToMiddleware()
			if tt.wantErr == "" {
				if err != nil || mw == nil {
					t.Fatalf("ToMiddleware() = %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ToMiddleware() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if mw != nil {
				t.Fatal("middleware returned together with an error")
			}
		})
	}
}

func TestJWTPanicsOnBadConfig(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.Contains(err.Error(), "cookies") {
			t.Fatalf("recovered %v, want an error naming the bad source", r)
		}
	}()
	middleware.JWT(middleware.Config{SigningKey: secret, TokenLookup: "cookies:token"})
	t.Fatal("JWT did not panic")
}
