package natsbroker_test

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// Build the NATS driver by hand: the websocket server of the
// single-process driver, fed by a NATS broker and presence store.
func ExampleNew() {
	b, err := natsbroker.New(natsbroker.Options{URL: os.Getenv("NATS_URL"), Prefix: "shop"})
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
	err = bc.Channel("orders").Emit("OrderShipped", map[string]int{"order_id": 1})
	if errors.Is(err, natsbroker.ErrUnavailable) {
		log.Print(err) // disconnected from NATS: fails at once
	}
}
