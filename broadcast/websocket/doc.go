// Package websocket is the WebSocket driver: a [Server] serves browser
// connections, runs their sessions (subscriptions, authorization,
// presence, client events) and delivers broadcasts to them through one
// local hub. A broker (broadcast/broker) carries messages between nodes;
// the default one is in memory, for a single process.
//
// Two wire protocols share the hub, so one Emit reaches every client
// once, whatever it speaks:
//
//   - the native JSON protocol ([Server.ServeHTTP], mounted at /ws), and
//   - the Pusher Channels protocol v7 ([Server.ServePusher], mounted at
//     {prefix}/app/{key}), so unmodified pusher-js 8 and laravel-echo 2
//     clients connect.
//
// Socket ids have the "digits.digits" form on both protocols, so
// ToOthers / X-Socket-ID, GetClients and presence membership are shared.
//
// Mount the server on an Echo app with the plugin package, serve it on its
// own listener with [Server.ListenAndServe], or use it as an
// http.Handler.
//
// # Concurrency
//
// Each connection has one read goroutine and a bounded outbound queue
// drained by one writer at a time (internal/transport). Its frames are
// handled in order, by the read goroutine or, while a join waits for
// remote work, by a short-lived worker that later frames queue behind
// (inbox.go), so answers keep the order of the requests and the read loop
// keeps reading. The remote work of a channel (broker subscription,
// presence changes and their member events) runs in order on a
// per-channel executor (stripes.go); no lock is held across a broker,
// presence or registry call, an authorizer or presence hook, or socket
// I/O, and every remote step has a deadline.
//
// # Adding a protocol
//
//  1. Write its codec under internal/protocol/NAME: EncodeEvent (one
//     complete frame per message, shared by every recipient), Parse (a
//     client frame into a protocol.Command; never panics, fuzzed),
//     Connected, Subscribed, SubscriptionError, Error, Pong and
//     CloseCode. Codecs are pure functions of bytes.
//  2. Register it in registerProtocols (protocols.go): the registration
//     order gives its codec index in the hub. Give it a handshake check if
//     the upgrade request needs more than the server's own checks.
//  3. Add a ServeNAME method that calls serve with it, and mount it in the
//     routes package.
//  4. Run the server's tests over it: every session behaviour goes
//     through Command, so subscribe, presence, client events and errors
//     behave as on the other protocols.
package websocket
