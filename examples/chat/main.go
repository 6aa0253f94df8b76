// Command chat is the minimal Velocity Broadcast app: a page that opens
// the native WebSocket protocol on /ws, subscribes to the public "chat"
// channel and shows the messages that POST /messages emits.
//
//	go run ./examples/chat        # http://localhost:8080 (ADDR overrides)
package main

import (
	"context"
	"embed"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/plugin"
)

//go:embed static
var static embed.FS

// message is what POST /messages accepts and what MessageSent carries.
type message struct {
	Name    string    `json:"name"`
	Message string    `json:"message"`
	SentAt  time.Time `json:"sent_at"`
}

func main() {
	cfg, err := plugin.LoadConfig()
	if err != nil {
		log.Fatal(err)
	}
	p, err := plugin.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	e := newApp(p)
	addr := envOr("ADDR", ":8080")

	go func() {
		log.Printf("chat: listening on %s (open http://localhost%s)", addr, addr[strings.LastIndex(addr, ":"):])
		if err := e.Start(addr); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = p.Shutdown(ctx) // closes sockets with 4200 so browsers reconnect
	_ = e.Shutdown(ctx)
}

// newApp builds the Echo app: the plugin's routes, the page and the
// controller that emits.
func newApp(p *plugin.Plugin) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	p.Register(e)
	e.GET("/*", echo.WrapHandler(http.FileServer(http.FS(mustSub(static, "static")))))
	e.POST("/messages", sendMessage)
	return e
}

// sendMessage is the controller of the seed: it emits to the channel,
// leaving out the sender's own socket (X-Socket-ID).
func sendMessage(c echo.Context) error {
	var m message
	if err := c.Bind(&m); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body must be JSON {name, message}")
	}
	m.Name, m.Message = strings.TrimSpace(m.Name), strings.TrimSpace(m.Message)
	switch {
	case m.Message == "" || m.Name == "":
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "name and message are required")
	case utf8.RuneCountInString(m.Message) > 2000 || utf8.RuneCountInString(m.Name) > 64:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "message over 2000 or name over 64 characters")
	}
	m.SentAt = time.Now().UTC()
	err := broadcast.Channel("chat").
		ToOthers(c.Request().Header.Get("X-Socket-ID")).
		Emit("MessageSent", m)
	if err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "broadcast failed").SetInternal(err)
	}
	return c.JSON(http.StatusCreated, m)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
