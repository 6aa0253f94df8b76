// Package drivers holds the built-in broadcast drivers:
//
//   - websocket: the default, in-memory; serves WebSocket clients from this
//     process (NewWebSocketDriver).
//   - log: writes every broadcast to a slog.Logger; for development.
//   - null: drops every broadcast; for tests.
//
// The Redis driver, for several processes, serves clients like the
// websocket driver and carries messages between processes through Redis.
// The NATS driver does the same through NATS.
package drivers
