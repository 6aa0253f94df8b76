package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// clientFrame builds a masked client frame.
func clientFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0, 0x80}
	switch n := len(payload); {
	case n < 126:
		f[1] |= byte(n)
	case n <= 0xFFFF:
		f[1] |= 126
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f[1] |= 127
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}

// The reader returns messages whole, whatever their length encoding and
// fragmentation, with control frames in between handed to the callback.
func TestInReaderMessages(t *testing.T) {
	t.Parallel()
	long := bytes.Repeat([]byte("abcdefghi"), 8000) // 72000 bytes: 8-byte length
	mid := bytes.Repeat([]byte("z"), 300)           // 2-byte length
	var in []byte
	in = append(in, clientFrame(0x81, []byte("hello"))...)
	in = append(in, clientFrame(0x82, mid)...)
	in = append(in, clientFrame(0x01, long[:10])...)
	in = append(in, clientFrame(0x89, []byte("p"))...)
	in = append(in, clientFrame(0x00, long[10:20])...)
	in = append(in, clientFrame(0x80, long[20:])...)
	var pings []string
	ir := &inReader{r: bytes.NewReader(in), limit: 1 << 20, control: func(op byte, _ int, p []byte) error {
		if op == opPing {
			pings = append(pings, string(p))
		}
		return nil
	}}
	for _, want := range []struct {
		text bool
		msg  []byte
	}{{true, []byte("hello")}, {false, mid}, {true, long}} {
		text, msg, err := ir.next()
		if err != nil || text != want.text || !bytes.Equal(msg, want.msg) {
			t.Fatalf("got text=%v %d bytes, %v; want text=%v %d bytes", text, len(msg), err, want.text, len(want.msg))
		}
	}
	if len(pings) != 1 || pings[0] != "p" {
		t.Fatalf("pings %q, want [p]", pings)
	}
	if _, _, err := ir.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

// A message over the limit is refused before its payload is read, and so
// are endless empty fragments.
func TestInReaderLimits(t *testing.T) {
	t.Parallel()
	big := clientFrame(0x81, make([]byte, 200))
	ir := &inReader{r: bytes.NewReader(big[:14]), limit: 100}
	var fe *frameError
	if _, _, err := ir.next(); !errors.As(err, &fe) || fe.code != 1009 {
		t.Fatalf("oversized frame: %v, want 1009", err)
	}
	var in []byte
	in = append(in, clientFrame(0x01, nil)...)
	for range maxFragments + 1 {
		in = append(in, clientFrame(0x00, nil)...)
	}
	ir = &inReader{r: bytes.NewReader(in), limit: 100}
	if _, _, err := ir.next(); !errors.As(err, &fe) || fe.code != 1009 {
		t.Fatalf("endless fragments: %v, want 1009", err)
	}
}

// FuzzInReader: whatever the client sends, the reader never panics,
// returns no message over the limit and no text that is not UTF-8, and
// hands on only close frames with a valid code.
func FuzzInReader(f *testing.F) {
	f.Add(clientFrame(0x81, []byte(`{"type":"ping"}`)))
	f.Add(append(clientFrame(0x01, []byte("\xe2\x82")), clientFrame(0x80, []byte("\xac"))...))
	f.Add(clientFrame(0x88, []byte{3, 232, 'o', 'k'}))
	f.Add(clientFrame(0x89, []byte("ping")))
	f.Add([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	f.Add(append(clientFrame(0x01, []byte("abc")), announced(0x80, 1<<63-1)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		ir := &inReader{r: bytes.NewReader(in), limit: 1 << 10, control: func(op byte, code int, p []byte) error {
			if op == opClose && code != 1005 && !validCloseCode(code) {
				t.Fatalf("close code %d handed on", code)
			}
			if len(p) > 125 {
				t.Fatalf("control payload of %d bytes", len(p))
			}
			return nil
		}}
		for {
			text, msg, err := ir.next()
			if err != nil {
				return
			}
			if len(msg) > 1<<10 {
				t.Fatalf("message of %d bytes over the limit", len(msg))
			}
			if text && !utf8.Valid(msg) {
				t.Fatalf("text message %q is not UTF-8", msg)
			}
		}
	})
}
