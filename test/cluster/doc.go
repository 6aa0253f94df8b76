// Package cluster holds the end-to-end tests of several nodes sharing one
// back end, run for every distributed engine (Redis and NATS): each node
// is a real websocket.Server with its broker and HTTP listener, and the
// clients are real WebSocket connections. The tests cover delivery,
// presence and its grace period, the client registry, a node killed with
// SIGKILL (a child process: the test binary run again) and a restart of
// the back end.
package cluster
