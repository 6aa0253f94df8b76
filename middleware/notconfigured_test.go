package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

func TestHasTokenLooksWhereTheDefaultLookupDoes(t *testing.T) {
	cases := []struct {
		name  string
		build func(r *http.Request)
		want  bool
	}{
		{"nothing", func(*http.Request) {}, false},
		{"bearer header", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, true},
		{"lowercase scheme", func(r *http.Request) { r.Header.Set("Authorization", "bearer abc") }, true},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("u", "p") }, false},
		{"empty bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer  ") }, false},
		{"query", func(r *http.Request) { r.URL.RawQuery = "token=abc" }, true},
		{"empty query", func(r *http.Request) { r.URL.RawQuery = "token=" }, false},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "token", Value: "abc"}) }, true},
		{"other cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: "abc"}) }, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		tc.build(r)
		if got := middleware.HasToken(r); got != tc.want {
			t.Errorf("%s: HasToken = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestJWTNotConfiguredAnswer(t *testing.T) {
	err := errors.Join(middleware.ErrTokenInvalid, middleware.ErrJWTNotConfigured)
	if code := middleware.ErrorCode(err); code != middleware.CodeJWTNotConfigured {
		t.Fatalf("ErrorCode = %q, want %q", code, middleware.CodeJWTNotConfigured)
	}
	e := echo.New()
	e.GET("/me", func(c echo.Context) error { return middleware.DefaultErrorHandler(c, middleware.ErrJWTNotConfigured) })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/me", nil))
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	want := "a token was sent but no JWT key is configured (set JWT_SECRET or JWT_PUBLIC_KEY)"
	if rec.Code != http.StatusUnauthorized || body["error"] != "jwt_not_configured" || body["message"] != want {
		t.Fatalf("got %d %v", rec.Code, body)
	}
	if got := rec.Header().Get(echo.HeaderWWWAuthenticate); got != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
}
