package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/middleware"
)

func Example() {
	secret := []byte("example-secret-change-me-0123456789")

	e := echo.New()
	e.Use(middleware.JWT(middleware.Config{SigningKey: secret}))
	e.GET("/me", func(c echo.Context) error {
		user, _ := middleware.UserAs[*middleware.User](c)
		return c.String(http.StatusOK, "hello "+user.GetAuthIdentifier())
	})

	token, err := middleware.SignHS256(secret, "alice", time.Hour, nil)
	if err != nil {
		panic(err)
	}

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/me", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())

	// Output:
	// 200 hello alice
	// 401 {"error":"token_missing","message":"authentication token is missing"}
}
