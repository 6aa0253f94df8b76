package drivers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/drivers"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

// Channels opt in to history; History reads what they kept, oldest first,
// with the channel's position (offset and epoch).
func ExampleBroadcaster_History() {
	driver := drivers.NewWebSocketDriver(ws.Config{})
	defer func() { _ = driver.Shutdown(context.Background()) }()
	b := broadcast.New(driver, broadcast.WithHistory("chat.*", 50, 24*time.Hour))

	for _, text := range []string{"hello", "how are you?", "fine"} {
		_ = b.Channel("chat.lobby").Emit("Message", map[string]string{"text": text})
	}
	res, err := b.History(context.Background(), "chat.lobby", 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("position:", res.Position.Offset)
	for _, p := range res.Publications {
		fmt.Println(p.Offset, p.Event, string(p.Data))
	}
	// Output:
	// position: 3
	// 2 Message {"text":"how are you?"}
	// 3 Message {"text":"fine"}
}
