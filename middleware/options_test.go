package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

// appClaims and appUser stand in for an application's own types.
type appClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

type appUser struct {
	Email string
	Role  string
}

func TestOptions(t *testing.T) {
	custom := middleware.Config{
		SigningKey: secret,
		NewClaims:  func() jwt.Claims { return &appClaims{} },
		UserFromClaims: func(c jwt.Claims) (any, error) {
			ac, ok := c.(*appClaims)
			if !ok || ac.Role == "" {
				return nil, errors.New("no role")
			}
			return &appUser{Email: ac.Subject, Role: ac.Role}, nil
		},
	}
	var handled error
	tests := []struct {
		name     string
		cfg      middleware.Config
		handler  echo.HandlerFunc
		req      func(t *testing.T) *http.Request
		wantCode int
		wantBody string
	}{
		{
			name: "custom UserFromClaims via UserAs", cfg: custom,
			handler: func(c echo.Context) error {
				u, ok := middleware.UserAs[*appUser](c)
				if !ok {
					return c.String(http.StatusInternalServerError, "no app user")
				}
				if _, isDefault := middleware.UserAs[*middleware.User](c); isDefault {
					return c.String(http.StatusInternalServerError, "unexpected default user")
				}
				return c.String(http.StatusOK, u.Email+"/"+u.Role)
			},
			req: func(t *testing.T) *http.Request {
				return bearer(hs(t, "ann@example.com", time.Hour, jwt.MapClaims{"role": "admin"}))
			},
			wantCode: 200, wantBody: "ann@example.com/admin",
		},
		{
			name: "custom UserFromClaims rejects", cfg: custom,
			req:      func(t *testing.T) *http.Request { return bearer(hs(t, "ann@example.com", time.Hour, nil)) },
			wantCode: 401, wantBody: `"error":"token_invalid"`,
		},
		{
			name: "custom claims still check exp", cfg: custom,
			req: func(t *testing.T) *http.Request {
				return bearer(hs(t, "ann", -time.Hour, jwt.MapClaims{"role": "admin"}))
			},
			wantCode: 401, wantBody: `"error":"token_expired"`,
		},
		{
			name: "skipper bypasses auth",
			cfg: middleware.Config{SigningKey: secret, Skipper: func(c echo.Context) bool {
				return c.Request().URL.Path == "/health"
			}},
			req:      func(*testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/health", nil) },
			wantCode: 200, wantBody: "ok",
		},
		{
			name: "skipper does not bypass other paths",
			cfg: middleware.Config{SigningKey: secret, Skipper: func(c echo.Context) bool {
				return c.Request().URL.Path == "/health"
			}},
			req:      func(*testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/other", nil) },
			wantCode: 401, wantBody: `"error":"token_missing"`,
		},
		{
			name: "custom ErrorHandler",
			cfg: middleware.Config{SigningKey: secret, ErrorHandler: func(c echo.Context, err error) error {
				handled = err
				return c.String(http.StatusTeapot, "denied:"+middleware.ErrorCode(err))
			}},
			req:      func(t *testing.T) *http.Request { return bearer(hs(t, "a", -time.Hour, nil)) },
			wantCode: http.StatusTeapot, wantBody: "denied:token_expired",
		},
		{
			name: "custom TokenLookup",
			cfg:  middleware.Config{SigningKey: secret, TokenLookup: "header:X-Auth-Token,query:access_token"},
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/x?access_token="+hs(t, "zed", time.Hour, nil), nil)
			},
			wantCode: 200, wantBody: "ok",
		},
		{
			name:     "custom TokenLookup ignores default sources",
			cfg:      middleware.Config{SigningKey: secret, TokenLookup: "header:X-Auth-Token"},
			req:      func(t *testing.T) *http.Request { return bearer(hs(t, "zed", time.Hour, nil)) },
			wantCode: 401, wantBody: `"error":"token_missing"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(middleware.JWT(tt.cfg))
			h := tt.handler
			if h == nil {
				h = func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
			}
			e.GET("/*", h)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, tt.req(t))
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
	if !errors.Is(handled, middleware.ErrTokenExpired) {
		t.Fatalf("ErrorHandler got %v, want ErrTokenExpired", handled)
	}
}

// TestContextReachesNetHTTP checks that a plain http.Handler behind the
// middleware (like a WebSocket upgrader) sees user, token and expiry.
func TestContextReachesNetHTTP(t *testing.T) {
	token := hs(t, "alice", time.Hour, nil)
	var gotUser any
	var gotToken string
	var gotExp time.Time
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, _ = middleware.UserFromContext(r.Context())
		gotToken, _ = middleware.TokenFromContext(r.Context())
		gotExp, _ = middleware.ExpiryFromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	e := echo.New()
	e.GET("/ws", echo.WrapHandler(plain), middleware.JWT(middleware.Config{SigningKey: secret}))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?token="+token, nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status = %d", rec.Code)
	}
	if u, ok := gotUser.(*middleware.User); !ok || u.ID != "alice" || u.Claims["sub"] != "alice" {
		t.Fatalf("user = %#v", gotUser)
	}
	if gotToken != token {
		t.Fatalf("token = %q, want %q", gotToken, token)
	}
	if d := time.Until(gotExp); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("expiry = %v (in %v)", gotExp, d)
	}
}

// TestConcurrentRequests exercises one middleware from many goroutines; run
// with -race.
func TestConcurrentRequests(t *testing.T) {
	e := newApp(t, middleware.Config{SigningKey: secret, Optional: true})
	good, expired := hs(t, "alice", time.Hour, nil), hs(t, "bob", -time.Hour, nil)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			tok, want := good, http.StatusOK
			if i%2 == 1 {
				tok, want = expired, http.StatusUnauthorized
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, bearer(tok))
			if rec.Code != want {
				t.Errorf("request %d: status %d, want %d", i, rec.Code, want)
			}
		})
	}
	wg.Wait()
}
