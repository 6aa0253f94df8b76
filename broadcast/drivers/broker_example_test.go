package drivers_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/drivers"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

// A driver over a broker of your own: anything that keeps the broker
// package's contracts (brokertest checks them) carries broadcasts
// between processes. Here the in-memory broker stands in for one.
func ExampleNewBrokerDriver() {
	b := broker.NewMemory()
	driver, err := drivers.NewBrokerDriver("custom", ws.Config{Path: "/ws"}, b, broker.NewMemoryPresence())
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(driver)
	defer srv.Close()
	defer driver.Shutdown(context.Background())

	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	read := func() string {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, frame, err := client.ReadMessage()
		if err != nil {
			return err.Error()
		}
		return string(frame)
	}
	read() // {"type":"connected",...}
	_ = client.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","data":{"channel":"orders"}}`))
	read() // {"type":"subscription_succeeded",...}

	if err := broadcast.New(driver).Channel("orders").Emit("OrderShipped", map[string]int{"id": 7}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(read())
	// Output: {"type":"OrderShipped","channel":"orders","data":{"id":7}}
}
