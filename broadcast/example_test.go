package broadcast_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
)

// printDriver is a custom driver that prints what it is asked to send.
type printDriver struct{}

func (printDriver) Broadcast(channels []string, event string, data interface{}) error {
	return printDriver{}.BroadcastExcept(channels, event, data, "")
}

func (printDriver) BroadcastExcept(channels []string, event string, data interface{}, socketID string) error {
	raw, _ := json.Marshal(data)
	fmt.Printf("%s on %s: %s", event, strings.Join(channels, ","), raw)
	if socketID != "" {
		fmt.Printf(" (not to %s)", socketID)
	}
	fmt.Println()
	return nil
}

func (printDriver) GetClients(string) []string { return nil }

func ExampleBroadcaster_Channel() {
	b := broadcast.New(printDriver{})
	_ = b.Channel("orders").Emit("OrderShipped", map[string]any{"order_id": 12345, "tracking": "ABC123"})
	_ = b.Channel("orders", "notifications").ToOthers("123.456").Emit("OrderUpdate", "shipped")
	_ = b.Private("user.123").When(false).Emit("Skipped", nil)
	// Output:
	// OrderShipped on orders: {"order_id":12345,"tracking":"ABC123"}
	// OrderUpdate on orders,notifications: "shipped" (not to 123.456)
}

type OrderShipped struct {
	OrderID  int    `json:"order_id"`
	Tracking string `json:"tracking"`
	UserID   int    `json:"-"`
}

func (e OrderShipped) BroadcastOn() []string {
	return []string{"orders", fmt.Sprintf("private-user.%d", e.UserID)}
}

func (e OrderShipped) BroadcastWhen() bool { return e.Tracking != "" }

func ExampleBroadcaster_Dispatch() {
	b := broadcast.New(printDriver{})
	_ = b.Dispatch(OrderShipped{OrderID: 7, Tracking: "ABC", UserID: 3})
	_ = b.Dispatch(OrderShipped{OrderID: 8}) // BroadcastWhen is false: nothing sent
	// Output:
	// OrderShipped on orders,private-user.3: {"order_id":7,"tracking":"ABC"}
}

func ExampleBroadcaster_Authorize() {
	b := broadcast.New(printDriver{})
	b.Authorize("user.{id}", func(user any, params map[string]string) (bool, error) {
		return broadcast.UserID(user) == params["id"], nil
	})
	ctx := context.Background()
	fmt.Println(b.AuthorizeChannel(ctx, "private-user.42", "42"))
	fmt.Println(b.AuthorizeChannel(ctx, "private-user.42", "7"))
	// Output:
	// <nil>
	// subscribe "private-user.42": broadcast: channel forbidden
}

// printPublisher is a custom driver that also takes whole messages, so
// it sees their conflation key.
type printPublisher struct{ printDriver }

func (printPublisher) Publish(_ context.Context, m *broadcast.Message) error {
	fmt.Printf("%s on %s, key %q: %s\n", m.Event, strings.Join(m.Channels, ","), m.Conflate, m.Data)
	return nil
}

func ExamplePendingBroadcast_Conflate() {
	b := broadcast.New(printPublisher{})
	// A client that has fallen behind gets only the latest queued price
	// per symbol; one that keeps up gets every update.
	for _, p := range []float64{189.5, 189.7} {
		_ = b.Channel("prices").Conflate("AAPL").Emit("PriceChanged", map[string]any{"symbol": "AAPL", "price": p})
	}
	// Output:
	// PriceChanged on prices, key "AAPL": {"price":189.5,"symbol":"AAPL"}
	// PriceChanged on prices, key "AAPL": {"price":189.7,"symbol":"AAPL"}
}

// Hooks learn what happens to channels and members. A driver that serves
// connections reports the events; here Notify stands in for it.
func ExampleBroadcaster_On() {
	b := broadcast.New(printDriver{})
	done := make(chan struct{})
	b.On(broadcast.ChannelOccupied, func(_ context.Context, e broadcast.LifecycleEvent) {
		fmt.Println(e.Kind, e.Channel)
	})
	b.On(broadcast.MemberRemoved, func(_ context.Context, e broadcast.LifecycleEvent) {
		fmt.Println(e.Kind, e.Channel, e.UserID)
		close(done)
	})
	b.Notify(broadcast.LifecycleEvent{Kind: broadcast.ChannelOccupied, Channel: "presence-room"})
	b.Notify(broadcast.LifecycleEvent{Kind: broadcast.MemberRemoved, Channel: "presence-room", UserID: "42"})
	<-done
	// Output:
	// channel_occupied presence-room
	// member_removed presence-room 42
}
