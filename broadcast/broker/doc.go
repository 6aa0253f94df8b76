// Package broker is the contract between the WebSocket server and the
// back ends that carry its messages and shared state between nodes: the
// [Broker] interface (fan-out between nodes), [PresenceStore] (presence
// members) and [ClientRegistry] (cluster-wide subscriber lists), the
// [Envelope] a message travels in, the event names the server reserves
// for its own messages, and the single-process implementations ([Memory],
// [MemoryPresence]).
//
// A back end for several processes (broadcast/redisbroker) implements
// these interfaces and imports this package only, never the server. Every
// implementation runs the shared conformance suite in
// broadcast/broker/brokertest.
//
// # Adding a broker
//
//  1. Implement Broker; add ClientRegistry when the back end can list a
//     channel's subscribers on every node, and a PresenceStore when it
//     can share presence members.
//  2. Call brokertest.RunBroker (and RunPresence, RunRegistry) from the
//     package's tests with a factory building a fresh instance.
//  3. Pass it to the server with websocket.WithBroker and
//     websocket.WithPresenceStore, or wrap both in a driver constructor in
//     broadcast/drivers.
package broker
