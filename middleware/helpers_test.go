package middleware_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

var secret = []byte("test-secret-0123456789-abcdefghij")

// testKeys are generated once per test binary; RSA generation is slow.
type testKeys struct {
	rsa     *rsa.PrivateKey
	rsaPEM  []byte // PEM of the RSA public key, as an attacker would find it
	ec      *ecdsa.PrivateKey
	edPub   ed25519.PublicKey
	edPriv  ed25519.PrivateKey
	ecOther *ecdsa.PrivateKey // P-384, for curve mismatch checks
}

var keys = sync.OnceValue(func() testKeys {
	var k testKeys
	var err error
	must := func(e error) {
		if e != nil {
			panic(e)
		}
	}
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	must(err)
	k.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ecOther, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	k.edPub, k.edPriv, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// sign signs claims with method and key, setting the kid header if non-empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing %s token: %v", method.Alg(), err)
	}
	return s
}

// claimsFor returns standard claims for sub valid for an hour.
func claimsFor(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}
}

// hs signs an HS256 token with the shared test secret.
func hs(t testing.TB, sub string, ttl time.Duration, extra jwt.MapClaims) string {
	t.Helper()
	s, err := middleware.SignHS256(secret, sub, ttl, extra)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newApp returns an Echo app protected by cfg whose /me route reports the
// authenticated user (or anonymous) as JSON.
func newApp(t testing.TB, cfg middleware.Config) *echo.Echo {
	t.Helper()
	mw, err := cfg.ToMiddleware()
	if err != nil {
		t.Fatalf("ToMiddleware: %v", err)
	}
	e := echo.New()
	e.Use(mw)
	e.GET("/me", func(c echo.Context) error {
		u, ok := middleware.UserAs[*middleware.User](c)
		if !ok {
			return c.JSON(http.StatusOK, echo.Map{"anonymous": true})
		}
		return c.JSON(http.StatusOK, echo.Map{"user": u.GetAuthIdentifier()})
	})
	return e
}

// bearer builds a GET /me request with an Authorization: Bearer header.
func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/me", nil)
	r.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	return r
}

// serve runs r through e and decodes the JSON body.
func serve(t testing.TB, e *echo.Echo, r *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	body := map[string]any{}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decoding body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}
