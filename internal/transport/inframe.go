package transport

import (
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/velocitykode/velocity/internal/protocol"
)

// Client frame opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// frameError is a client frame the connection must fail on, with the
// close code the client is sent.
type frameError struct {
	code   int
	reason string
}

func (e *frameError) Error() string { return "transport: " + e.reason }

// maxFragments bounds the frames of one message, so that a client cannot
// keep the read loop busy with empty fragments that never end a message.
const maxFragments = 1024

// errPeerClosed ends the read loop after the client's close frame was
// answered.
var errPeerClosed = errors.New("transport: closed by the client")

func protocolError(reason string) error {
	return &frameError{protocol.CloseProtocolError, reason}
}

// controlFunc is told of each ping (payload), pong and close frame. For a
// close it gets the status code, or 1005 when the frame had none; the
// frame has been validated. A non-nil error ends the read.
type controlFunc func(op byte, code int, payload []byte) error

// inReader reads client frames straight from the socket, without a
// buffer: the two header bytes, the rest of the header, the payload. It
// enforces RFC 6455 on every frame (masking, reserved bits, opcodes,
// control frame rules, fragmentation, UTF-8 of text and close reasons,
// close codes) and the message size limit.
type inReader struct {
	r       io.Reader
	limit   int64
	control controlFunc
	hdr     [12]byte
	ctl     [125]byte
}

// next returns the next complete data message and whether it is text.
// Control frames in between go to control.
func (ir *inReader) next() (text bool, msg []byte, err error) {
	started, frames := false, 0
	checked := 0 // bytes of a text message known to be valid UTF-8
	for {
		if _, err := io.ReadFull(ir.r, ir.hdr[:2]); err != nil {
			return false, nil, err
		}
		b0, b1 := ir.hdr[0], ir.hdr[1]
		fin, op := b0&0x80 != 0, b0&0x0F
		n := int64(b1 & 0x7F)
		switch {
		case b0&0x70 != 0:
			return false, nil, protocolError("reserved bits set")
		case b1&0x80 == 0:
			return false, nil, protocolError("unmasked client frame")
		}
		extra := 4
		switch n {
		case 126:
			extra += 2
		case 127:
			extra += 8
		}
		if _, err := io.ReadFull(ir.r, ir.hdr[:extra]); err != nil {
			return false, nil, err
		}
		switch n {
		case 126:
			n = int64(binary.BigEndian.Uint16(ir.hdr[:2]))
		case 127:
			u := binary.BigEndian.Uint64(ir.hdr[:8])
			if u>>63 != 0 {
				return false, nil, protocolError("payload length over 2^63")
			}
			n = int64(u)
		}
		mask := [4]byte(ir.hdr[extra-4 : extra])

		switch op {
		case opClose, opPing, opPong:
			if !fin {
				return false, nil, protocolError("fragmented control frame")
			}
			if n > 125 {
				return false, nil, protocolError("control frame over 125 bytes")
			}
			p := ir.ctl[:n]
			if _, err := io.ReadFull(ir.r, p); err != nil {
				return false, nil, err
			}
			unmask(p, mask)
			if err := ir.handleControl(op, p); err != nil {
				return false, nil, err
			}
			continue
		case opText, opBinary:
			if started {
				return false, nil, protocolError("data frame inside a fragmented message")
			}
			started, text = true, op == opText
		case opContinuation:
			if !started {
				return false, nil, protocolError("continuation frame without a message")
			}
		default:
			return false, nil, protocolError("unknown opcode")
		}

		if n > ir.limit-int64(len(msg)) { // not len+n: n may be near 2^63
			return false, nil, &frameError{protocol.CloseMessageTooLarge, "message too large"}
		}
		if frames++; frames > maxFragments {
			return false, nil, &frameError{protocol.CloseMessageTooLarge, "too many fragments"}
		}
		start := len(msg)
		if msg, err = readPayload(ir.r, msg, int(n)); err != nil {
			return false, nil, err
		}
		unmask(msg[start:], mask)
		if text {
			ok := false
			if checked, ok = validUTF8Prefix(msg, checked, fin); !ok {
				return false, nil, &frameError{protocol.CloseInvalidPayload, "invalid UTF-8"}
			}
		}
		if fin {
			return text, msg, nil
		}
	}
}

// payloadChunk bounds how much of a payload is allocated before its bytes
// arrive: a header that announces a large frame costs nothing until the
// client actually sends it.
const payloadChunk = 16 << 10

// readPayload appends n bytes read from r to msg, growing msg as they
// arrive.
func readPayload(r io.Reader, msg []byte, n int) ([]byte, error) {
	for n > 0 {
		k := min(n, payloadChunk)
		start := len(msg)
		msg = append(msg, make([]byte, k)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return nil, err
		}
		n -= k
	}
	return msg, nil
}

// handleControl validates a close frame (RFC 6455 §5.5.1, §7.4) and hands
// every control frame to the callback.
func (ir *inReader) handleControl(op byte, p []byte) error {
	code := 1005 // no status code
	if op == opClose {
		switch {
		case len(p) == 1:
			return protocolError("close frame with a 1-byte payload")
		case len(p) >= 2:
			code = int(binary.BigEndian.Uint16(p))
			if !validCloseCode(code) {
				return protocolError("invalid close code")
			}
			if !utf8.Valid(p[2:]) {
				return &frameError{protocol.CloseInvalidPayload, "invalid UTF-8 in close reason"}
			}
		}
	}
	return ir.control(op, code, p)
}

// validCloseCode reports whether a client may send code in a close frame:
// the codes registered for use on the wire (1000–1003, 1007–1014) and
// the ranges for libraries and applications (3000–4999). 1004, 1005,
// 1006 and 1015 are reserved and never sent.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// validUTF8Prefix checks msg[from:] as UTF-8. Unless final, an incomplete
// last character is accepted for the next fragment to complete. It
// returns how much of msg is known valid.
func validUTF8Prefix(msg []byte, from int, final bool) (int, bool) {
	b := msg[from:]
	if utf8.Valid(b) {
		return len(msg), true
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if !final && len(b)-i < utf8.UTFMax && !utf8.FullRune(b[i:]) {
				return from + i, true
			}
			return 0, false
		}
		i += size
	}
	return len(msg), true
}

// unmask XORs p with the client's masking key, eight bytes at a time.
func unmask(p []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}
