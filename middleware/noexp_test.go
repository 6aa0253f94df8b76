package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/velocitykode/velocity/middleware"
)

// Verify refuses a token without "exp" with an error callers can branch
// on, and that still counts as an invalid token.
func TestVerifyTokenWithoutExpiry(t *testing.T) {
	t.Parallel()
	tok := hs(t, "judy", 0, nil)
	v, err := middleware.NewVerifier(middleware.Config{SigningKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = v.Verify(tok)
	if !errors.Is(err, middleware.ErrTokenNoExpiry) || !errors.Is(err, middleware.ErrTokenInvalid) {
		t.Fatalf("Verify: %v, want ErrTokenNoExpiry and ErrTokenInvalid", err)
	}
	if code := middleware.ErrorCode(err); code != middleware.CodeTokenNoExpiry {
		t.Fatalf("ErrorCode = %q", code)
	}
	v, err = middleware.NewVerifier(middleware.Config{SigningKey: secret, AllowNoExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Verify(tok); err != nil {
		t.Fatalf("AllowNoExpiry: %v", err)
	}
	if _, _, err := v.Verify(hs(t, "judy", -time.Minute, nil)); !errors.Is(err, middleware.ErrTokenExpired) {
		t.Fatalf("expired with AllowNoExpiry: %v", err)
	}
}
