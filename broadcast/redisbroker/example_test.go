package redisbroker_test

import (
	"context"
	"log"
	"os"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// Build the Redis driver by hand: the websocket server of the
// single-process driver, fed by a Redis broker and presence store.
func ExampleNew() {
	b, err := redisbroker.New(redisbroker.Options{URL: os.Getenv("REDIS_URL"), Prefix: "shop:"})
	if err != nil {
		log.Fatal(err) // names the URL, password hidden
	}
	srv, err := websocket.NewServer(websocket.Config{},
		websocket.WithBroker(b), websocket.WithPresenceStore(b.Presence()))
	if err != nil {
		_ = b.Close()
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background()) // also closes b

	bc := broadcast.New(srv)
	if err := bc.Channel("orders").Emit("OrderShipped", map[string]int{"order_id": 1}); err != nil {
		log.Print(err) // Redis unavailable: fails within Options.Timeout
	}
	if err := b.Health(context.Background()); err != nil {
		log.Print(err)
	}
}
