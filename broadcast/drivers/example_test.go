package drivers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/drivers"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

// The WebSocket driver on its own listener: clients connect to
// ws://HOST:6001/ws and receive what the broadcaster emits.
func ExampleNewWebSocketDriver() {
	config := ws.Config{
		Host:           "127.0.0.1",
		Port:           6001,
		Path:           "/ws",
		AllowedOrigins: []string{"http://localhost:3000"},
		PingInterval:   30 * time.Second,
		ReadTimeout:    60 * time.Second,
		WriteTimeout:   10 * time.Second,
		MaxMessageSize: 512 * 1024, // 512KB
	}
	driver := drivers.NewWebSocketDriver(config)
	go driver.ListenAndServe() //nolint:errcheck // returns nil after Shutdown
	defer driver.Shutdown(context.Background())

	broadcaster := broadcast.New(driver)

	// A client, as a browser would connect.
	client := dialRetrying("ws://127.0.0.1:6001/ws")
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
	_ = client.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","data":{"channel":"events"}}`))
	read() // {"type":"subscription_succeeded",...}

	if err := broadcaster.Channel("events").Emit("TestEvent", "Hello WebSocket!"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(read())
	// Output: {"type":"TestEvent","channel":"events","data":"Hello WebSocket!"}
}

// dialRetrying connects once the listener started in the background is
// up, as a browser client reconnecting would.
func dialRetrying(url string) *websocket.Conn {
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				panic(err)
			}
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
}
