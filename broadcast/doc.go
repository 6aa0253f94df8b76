// Package broadcast is the public API of Velocity Broadcast: emit events from
// Go code to browsers subscribed to public, private- and presence- channels.
//
//	broadcast.Channel("orders").Emit("OrderShipped", order)
//	broadcast.Private("user.42").ToOthers(socketID).Emit("AccountUpdate", acct)
//	broadcast.Dispatch(OrderShipped{OrderID: 7})
//
// A [Broadcaster] validates channel and event names, encodes the payload to
// JSON exactly once and hands the encoded [Message] to a [Driver]. The
// driver moves it to the process (or processes) holding the subscribed
// connections; the WebSocket driver in broadcast/drivers delivers it to the
// local hub, the Redis driver through Redis to every node's hub.
//
// The package-level functions (Channel, Private, Presence, Dispatch,
// SetAuthorizer, ...) are thin wrappers over [Default]. Applications that
// need several broadcasters, and tests, build their own with [New].
//
// # Concurrency
//
// A Broadcaster is safe for concurrent use. Hooks (authorizer, presence
// data, channel routes) may be replaced at any time; callbacks are always
// invoked outside the package's locks, and a panicking callback fails only
// the subscription that triggered it.
package broadcast
