package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

func TestMiddleware(t *testing.T) {
	k := keys()
	hsCfg := middleware.Config{SigningKey: secret}
	rsCfg := middleware.Config{SigningKey: &k.rsa.PublicKey, SigningMethods: []string{"RS256"}}
	kidCfg := middleware.Config{SigningKeys: map[string]any{"k1": []byte("secret-one-0123456789-0123456789"), "k2": []byte("secret-two-0123456789-0123456789")}}
	mixedCfg := middleware.Config{
		SigningKeys:    map[string]any{"rsa": &k.rsa.PublicKey, "hmac": secret},
		SigningMethods: []string{"RS256", "HS256"},
	}
	get := func(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

	tests := []struct {
		name     string
		cfg      middleware.Config
		req      func(t *testing.T) *http.Request
		wantCode int
		wantUser string // expected user on 200; "" means anonymous
		wantErr  string // expected "error" field on 401
	}{
		{name: "header bearer", cfg: hsCfg, req: func(t *testing.T) *http.Request { return bearer(hs(t, "alice", time.Hour, nil)) }, wantCode: 200, wantUser: "alice"},
		{name: "header bearer lowercase scheme", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			r := get("/me")
			r.Header.Set("Authorization", "bearer "+hs(t, "alice", time.Hour, nil))
			return r
		}, wantCode: 200, wantUser: "alice"},
		{name: "query param", cfg: hsCfg, req: func(t *testing.T) *http.Request { return get("/me?token=" + hs(t, "bob", time.Hour, nil)) }, wantCode: 200, wantUser: "bob"},
		{name: "cookie", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			r := get("/me")
			r.AddCookie(&http.Cookie{Name: "token", Value: hs(t, "carol", time.Hour, nil)})
			return r
		}, wantCode: 200, wantUser: "carol"},
		{name: "header wins over query", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			r := get("/me?token=" + hs(t, "bob", time.Hour, nil))
			r.Header.Set("Authorization", "Bearer "+hs(t, "alice", time.Hour, nil))
			return r
		}, wantCode: 200, wantUser: "alice"},
		{name: "missing token", cfg: hsCfg, req: func(*testing.T) *http.Request { return get("/me") }, wantCode: 401, wantErr: "token_missing"},
		{name: "basic auth is not a bearer token", cfg: hsCfg, req: func(*testing.T) *http.Request {
			r := get("/me")
			r.SetBasicAuth("u", "p")
			return r
		}, wantCode: 401, wantErr: "token_missing"},
		{name: "optional without token is anonymous", cfg: middleware.Config{SigningKey: secret, Optional: true}, req: func(*testing.T) *http.Request { return get("/me") }, wantCode: 200},
		{name: "optional with valid token", cfg: middleware.Config{SigningKey: secret, Optional: true}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "alice", time.Hour, nil)) }, wantCode: 200, wantUser: "alice"},
		{name: "optional with expired token", cfg: middleware.Config{SigningKey: secret, Optional: true}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "alice", -time.Hour, nil)) }, wantCode: 401, wantErr: "token_expired"},
		{name: "optional with garbage token", cfg: middleware.Config{SigningKey: secret, Optional: true}, req: func(*testing.T) *http.Request { return bearer("not.a.jwt") }, wantCode: 401, wantErr: "token_invalid"},
		{name: "expired", cfg: hsCfg, req: func(t *testing.T) *http.Request { return bearer(hs(t, "alice", -time.Minute, nil)) }, wantCode: 401, wantErr: "token_expired"},
		{name: "expired within leeway", cfg: middleware.Config{SigningKey: secret, Leeway: time.Minute}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "alice", -10*time.Second, nil)) }, wantCode: 200, wantUser: "alice"},
		{name: "nbf in future", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			return bearer(hs(t, "alice", time.Hour, jwt.MapClaims{"nbf": time.Now().Add(10 * time.Minute).Unix()}))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "wrong key", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789-abcdef"), "", claimsFor("alice")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "malformed", cfg: hsCfg, req: func(*testing.T) *http.Request { return bearer("abc") }, wantCode: 401, wantErr: "token_invalid"},
		{name: "alg none", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor("mallory")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "alg none against RS256 server", cfg: rsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor("mallory")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "HS256 signed with RSA public key PEM", cfg: rsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, k.rsaPEM, "", claimsFor("mallory")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "HS256 with RSA PEM and rsa kid on mixed server", cfg: mixedCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, k.rsaPEM, "rsa", claimsFor("mallory")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "mixed server RS256 by kid", cfg: mixedCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claimsFor("dave")))
		}, wantCode: 200, wantUser: "dave"},
		{name: "mixed server HS256 by kid", cfg: mixedCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, secret, "hmac", claimsFor("erin")))
		}, wantCode: 200, wantUser: "erin"},
		{name: "RS256 valid", cfg: rsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsFor("dave")))
		}, wantCode: 200, wantUser: "dave"},
		{name: "RS256 token on HS256 server", cfg: hsCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsFor("dave")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "ES256 valid", cfg: middleware.Config{SigningKey: &k.ec.PublicKey, SigningMethods: []string{"ES256"}}, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodES256, k.ec, "", claimsFor("frank")))
		}, wantCode: 200, wantUser: "frank"},
		{name: "EdDSA valid from private key config", cfg: middleware.Config{SigningKey: k.edPriv, SigningMethods: []string{"EdDSA"}}, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodEdDSA, k.edPriv, "", claimsFor("grace")))
		}, wantCode: 200, wantUser: "grace"},
		{name: "kid selects second key", cfg: kidCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, []byte("secret-two-0123456789-0123456789"), "k2", claimsFor("heidi")))
		}, wantCode: 200, wantUser: "heidi"},
		{name: "kid points at other key", cfg: kidCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, []byte("secret-one-0123456789-0123456789"), "k2", claimsFor("heidi")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "unknown kid", cfg: kidCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, []byte("secret-one-0123456789-0123456789"), "k3", claimsFor("heidi")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "no kid with only SigningKeys", cfg: kidCfg, req: func(t *testing.T) *http.Request {
			return bearer(sign(t, jwt.SigningMethodHS256, []byte("secret-one-0123456789-0123456789"), "", claimsFor("heidi")))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "issuer and audience match", cfg: middleware.Config{SigningKey: secret, Issuer: "velocity", Audience: "broadcast"}, req: func(t *testing.T) *http.Request {
			return bearer(hs(t, "ivan", time.Hour, jwt.MapClaims{"iss": "velocity", "aud": []string{"web", "broadcast"}}))
		}, wantCode: 200, wantUser: "ivan"},
		{name: "issuer mismatch", cfg: middleware.Config{SigningKey: secret, Issuer: "velocity"}, req: func(t *testing.T) *http.Request {
			return bearer(hs(t, "ivan", time.Hour, jwt.MapClaims{"iss": "someone-else"}))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "issuer missing", cfg: middleware.Config{SigningKey: secret, Issuer: "velocity"}, req: func(t *testing.T) *http.Request {
			return bearer(hs(t, "ivan", time.Hour, nil))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "audience mismatch", cfg: middleware.Config{SigningKey: secret, Audience: "broadcast"}, req: func(t *testing.T) *http.Request {
			return bearer(hs(t, "ivan", time.Hour, jwt.MapClaims{"aud": "billing"}))
		}, wantCode: 401, wantErr: "token_invalid"},
		{name: "no exp refused by default", cfg: hsCfg, req: func(t *testing.T) *http.Request { return bearer(hs(t, "judy", 0, nil)) }, wantCode: 401, wantErr: "token_no_expiry"},
		{name: "no exp accepted with AllowNoExpiry", cfg: middleware.Config{SigningKey: secret, AllowNoExpiry: true}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "judy", 0, nil)) }, wantCode: 200, wantUser: "judy"},
		{name: "no exp with RequireExpiry and AllowNoExpiry", cfg: middleware.Config{SigningKey: secret, RequireExpiry: true, AllowNoExpiry: true}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "judy", 0, nil)) }, wantCode: 401, wantErr: "token_no_expiry"},
		{name: "expired with AllowNoExpiry", cfg: middleware.Config{SigningKey: secret, AllowNoExpiry: true}, req: func(t *testing.T) *http.Request { return bearer(hs(t, "judy", -time.Minute, nil)) }, wantCode: 401, wantErr: "token_expired"},
		{name: "no sub", cfg: hsCfg, req: func(t *testing.T) *http.Request { return bearer(hs(t, "", time.Hour, nil)) }, wantCode: 401, wantErr: "token_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApp(t, tt.cfg)
			code, body := serve(t, e, tt.req(t))
			if code != tt.wantCode {
				t.Fatalf("status = %d, want %d (body %v)", code, tt.wantCode, body)
			}
			if code == http.StatusUnauthorized {
				if body["error"] != tt.wantErr || body["message"] == "" || body["message"] == nil {
					t.Fatalf("body = %v, want error %q with a message", body, tt.wantErr)
				}
				return
			}
			if tt.wantUser == "" {
				if body["anonymous"] != true {
					t.Fatalf("body = %v, want anonymous", body)
				}
			} else if body["user"] != tt.wantUser {
				t.Fatalf("user = %v, want %q", body["user"], tt.wantUser)
			}
		})
	}
}

func TestUnauthorizedHeaders(t *testing.T) {
	e := newApp(t, middleware.Config{SigningKey: secret})
	for _, tc := range []struct {
		name, auth, want string
	}{
		{name: "missing", want: "Bearer"},
		{name: "invalid", auth: "Bearer x.y.z", want: `Bearer error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/me", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, r)
			if got := rec.Header().Get(echo.HeaderWWWAuthenticate); got != tc.want {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
			if ct := rec.Header().Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
}
