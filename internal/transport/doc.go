// Package transport is one WebSocket connection's byte plumbing: the read
// loop with its limits and deadlines, a bounded outbound queue, and the
// writers that drain it. It knows nothing of channels, users or wire
// protocols: frames arrive complete (see internal/wsframe) and are handed
// to a Handler as they are read.
//
// # Writing
//
// Each connection has a bounded outbound queue with at most one writer at
// a time. On Linux the writer is usually one of the pool's flushers (one
// per processor): a connection that gets a frame is marked dirty, and the
// flusher gives it one non-blocking write of everything queued, so a
// delivery costs no goroutine. A connection that gets frames back to back
// waits up to Config.WriteCoalesce so that they share a write. When a
// socket is full, that connection's writes move to a goroutine of its own
// that waits under Config.WriteTimeout; nobody else waits for it.
// Connections without a file descriptor (TLS served in-process), and
// every connection on other systems, use their own writer goroutine.
//
// # Concurrency
//
// Send, SendControl, Close and Abort may be called from any goroutine and
// never block. The Handler's methods are called from the connection's read
// goroutine, one at a time. No lock is held across socket I/O.
package transport
