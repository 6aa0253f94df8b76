package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/velocitykode/velocity/middleware"
)

func TestVerifierErrors(t *testing.T) {
	k := keys()
	v, err := middleware.NewVerifier(middleware.Config{
		SigningKeys:    map[string]any{"rsa": &k.rsa.PublicKey, "hmac": secret},
		SigningMethods: []string{"RS256", "HS256"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		token    string
		wantIs   []error
		wantNot  []error
		wantCode string
	}{
		{name: "empty", token: "", wantIs: []error{middleware.ErrTokenMissing}, wantNot: []error{middleware.ErrTokenInvalid}, wantCode: "token_missing"},
		{name: "expired", token: sign(t, jwt.SigningMethodHS256, secret, "hmac", jwt.MapClaims{"sub": "a", "exp": time.Now().Add(-time.Hour).Unix()}),
			wantIs: []error{middleware.ErrTokenExpired, jwt.ErrTokenExpired}, wantNot: []error{middleware.ErrTokenInvalid}, wantCode: "token_expired"},
		{name: "alg none", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "hmac", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, middleware.ErrTokenAlgorithm}, wantCode: "token_invalid"},
		{name: "alg not pinned", token: sign(t, jwt.SigningMethodHS512, secret, "hmac", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, middleware.ErrTokenAlgorithm}, wantCode: "token_invalid"},
		{name: "HS256 with RSA PEM as secret", token: sign(t, jwt.SigningMethodHS256, k.rsaPEM, "rsa", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, middleware.ErrTokenAlgorithm}, wantNot: []error{middleware.ErrUnknownKey}, wantCode: "token_invalid"},
		{name: "RS256 token pointing at hmac kid", token: sign(t, jwt.SigningMethodRS256, k.rsa, "hmac", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, middleware.ErrTokenAlgorithm}, wantCode: "token_invalid"},
		{name: "unknown kid", token: sign(t, jwt.SigningMethodHS256, secret, "nope", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, middleware.ErrUnknownKey}, wantNot: []error{middleware.ErrTokenAlgorithm}, wantCode: "token_invalid"},
		{name: "bad signature", token: sign(t, jwt.SigningMethodHS256, []byte("other-secret-0123456789-0123456"), "hmac", claimsFor("a")),
			wantIs: []error{middleware.ErrTokenInvalid, jwt.ErrTokenSignatureInvalid}, wantNot: []error{middleware.ErrTokenAlgorithm}, wantCode: "token_invalid"},
		{name: "not yet valid", token: sign(t, jwt.SigningMethodHS256, secret, "hmac", jwt.MapClaims{"sub": "a", "nbf": time.Now().Add(time.Hour).Unix()}),
			wantIs: []error{middleware.ErrTokenInvalid, jwt.ErrTokenNotValidYet}, wantCode: "token_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, claims, err := v.Verify(tt.token)
			if err == nil || user != nil || claims != nil {
				t.Fatalf("Verify = %v, %v, %v; want an error only", user, claims, err)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
			if got := middleware.ErrorCode(err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestVerifierSuccessAndHelpers(t *testing.T) {
	v, err := middleware.NewVerifier(middleware.Config{SigningKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	token := hs(t, "alice", 30*time.Minute, jwt.MapClaims{"room": "lobby"})

	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	if _, ok := v.TokenFromRequest(r); ok {
		t.Fatal("TokenFromRequest found a token in an empty request")
	}
	r.AddCookie(&http.Cookie{Name: "token", Value: token})
	got, ok := v.TokenFromRequest(r)
	if !ok || got != token {
		t.Fatalf("TokenFromRequest = %q, %v", got, ok)
	}

	user, claims, err := v.Verify(got)
	if err != nil {
		t.Fatal(err)
	}
	u := user.(*middleware.User)
	if u.GetAuthIdentifier() != "alice" || u.Claims["room"] != "lobby" {
		t.Fatalf("user = %#v", u)
	}
	exp, ok := middleware.ExpiresAt(claims)
	if d := time.Until(exp); !ok || d < 29*time.Minute || d > 30*time.Minute {
		t.Fatalf("ExpiresAt = %v, %v", exp, ok)
	}
	if _, ok := middleware.ExpiresAt(jwt.MapClaims{"sub": "x"}); ok {
		t.Fatal("ExpiresAt reported an expiry for claims without exp")
	}
	if _, ok := middleware.ExpiresAt(nil); ok {
		t.Fatal("ExpiresAt(nil) reported an expiry")
	}
	if (*middleware.User)(nil).GetAuthIdentifier() != "" {
		t.Fatal("nil user has an identifier")
	}
}

func TestContextHelpers(t *testing.T) {
	ctx := t.Context()
	if _, ok := middleware.UserFromContext(ctx); ok {
		t.Fatal("empty context has a user")
	}
	if _, ok := middleware.TokenFromContext(ctx); ok {
		t.Fatal("empty context has a token")
	}
	if _, ok := middleware.ExpiryFromContext(ctx); ok {
		t.Fatal("empty context has an expiry")
	}
	if _, ok := middleware.UserFromContext(middleware.WithUser(ctx, nil)); ok {
		t.Fatal("nil user reported as present")
	}
	ctx = middleware.WithUser(ctx, &middleware.User{ID: "u1"})
	if u, ok := middleware.UserFromContext(ctx); !ok || u.(*middleware.User).ID != "u1" {
		t.Fatalf("UserFromContext = %v, %v", u, ok)
	}
}

func TestSignHS256(t *testing.T) {
	if _, err := middleware.SignHS256(nil, "a", time.Hour, nil); err == nil {
		t.Fatal("SignHS256 accepted an empty secret")
	}
	extra := jwt.MapClaims{"sub": "ignored", "role": "x"}
	tok, err := middleware.SignHS256(secret, "alice", time.Hour, extra)
	if err != nil {
		t.Fatal(err)
	}
	if extra["exp"] != nil {
		t.Fatal("SignHS256 modified extra")
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return secret, nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "alice" || claims["role"] != "x" || claims["exp"] == nil || claims["iat"] == nil {
		t.Fatalf("claims = %v", claims)
	}
}
