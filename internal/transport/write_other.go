//go:build !linux

package transport

import (
	"errors"
	"net"

	"github.com/gorilla/websocket"
)

// attachRaw reports false: outside Linux every connection is written by a
// writer goroutine of its own (the portable path).
func attachRaw(*Conn) bool { return false }

// writeNow is never called without the fast path.
func (c *Conn) writeNow([]byte) (int, error) { return 0, errors.ErrUnsupported }

// muteLibraryWriter is only needed with the fast path.
func muteLibraryWriter(*websocket.Conn, net.Conn) {}
