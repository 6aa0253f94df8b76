package plugin_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/plugin"
)

// The plugin on an Echo app, a browser-like client on /ws, and an emit
// from Go reaching it.
func Example() {
	cfg, _ := plugin.LoadConfig() // .env if present, then the environment
	p, err := plugin.New(cfg, plugin.WithBroadcaster(broadcast.New(nil)))
	if err != nil {
		panic(err)
	}
	e := echo.New()
	p.Register(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	defer p.Shutdown(context.Background())

	ws, _, _ := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	defer ws.Close()
	_, _, _ = ws.ReadMessage() // {"type":"connected",...}
	_ = ws.WriteJSON(map[string]any{"type": "subscribe", "data": map[string]string{"channel": "orders"}})
	_, ok, _ := ws.ReadMessage()
	fmt.Println(string(ok))

	_ = p.Broadcaster().Channel("orders").Emit("OrderShipped", map[string]any{"order_id": 12345})
	_, ev, _ := ws.ReadMessage()
	fmt.Println(string(ev))
	// Output:
	// {"type":"subscription_succeeded","channel":"orders","data":{"channel":"orders"}}
	// {"type":"OrderShipped","channel":"orders","data":{"order_id":12345}}
}
