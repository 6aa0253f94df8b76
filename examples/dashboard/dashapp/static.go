package dashapp

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed static
var static embed.FS

// staticHandler serves the page, its script, its style sheet and the
// vendored chart library, to GET and HEAD (the same headers without the
// body).
func staticHandler() echo.HandlerFunc {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return echo.WrapHandler(http.FileServer(http.FS(sub)))
}
