package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/velocitykode/velocity/internal/protocol"
)

// announced is the header of a masked client frame whose 64-bit length
// field says n, with no payload after it.
func announced(b0 byte, n uint64) []byte {
	h := []byte{b0, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, n)
	return append(h, 1, 2, 3, 4)
}

// A continuation that announces nearly 2^63 bytes after a short first
// fragment is refused as too large; the size check must not overflow
// (it once did, and the allocation that followed crashed the process).
func TestInReaderRefusesHugeContinuation(t *testing.T) {
	t.Parallel()
	in := append(clientFrame(0x01, []byte("abc")), announced(0x80, 1<<63-1)...)
	ir := &inReader{r: bytes.NewReader(in), limit: 512 << 10, control: func(byte, int, []byte) error { return nil }}
	_, _, err := ir.next()
	var fe *frameError
	if !errors.As(err, &fe) || fe.code != protocol.CloseMessageTooLarge {
		t.Fatalf("next = %v, want a %d frame error", err, protocol.CloseMessageTooLarge)
	}
}

// A header that announces a large frame costs nothing until its bytes
// arrive: the reader grows the message with the payload, it does not
// allocate the announced size up front. (Not parallel: it reads the
// process's allocation counter.)
func TestInReaderAllocatesAsBytesArrive(t *testing.T) {
	in := append(announced(0x81, 8<<20), "only a few bytes"...)
	ir := &inReader{r: bytes.NewReader(in), limit: 16 << 20, control: func(byte, int, []byte) error { return nil }}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := ir.next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("next = %v, want unexpected EOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("a header announcing 8 MiB with 16 bytes behind it cost %d bytes", got)
	}
}
