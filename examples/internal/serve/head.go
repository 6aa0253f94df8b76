package serve

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// HeadAsGet is an Echo Pre middleware that routes a HEAD request to the
// GET route of its path, so every page and API endpoint answers HEAD as
// GET does: the same status and headers, and no body (the body the GET
// handler writes is discarded).
func HeadAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		// Echo routes by this request's method after Pre middleware.
		r.Method = http.MethodGet
		defer func() { r.Method = http.MethodHead }()
		res := c.Response()
		w := res.Writer
		res.Writer = headWriter{w}
		defer func() { res.Writer = w }()
		return next(c)
	}
}

// headWriter passes a response's headers and status on and drops its body.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }
