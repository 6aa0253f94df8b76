// Package wsframe builds server-to-client WebSocket frames (RFC 6455):
// unmasked, so one frame built for a message is valid for every recipient.
package wsframe

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// First bytes of frames: opcodes with the FIN bit set.
const (
	OpText  = 0x81
	OpClose = 0x88
	OpPing  = 0x89
	OpPong  = 0x8A
)

// HeaderLen is the length of an unmasked frame header for n payload bytes.
func HeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// AppendHeader appends an unmasked frame header.
func AppendHeader(b []byte, op byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, op, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, op, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, op, 127), uint64(n))
}

// Text wraps payload in a complete text frame.
func Text(payload []byte) []byte {
	f := make([]byte, 0, HeaderLen(len(payload))+len(payload))
	return append(AppendHeader(f, OpText, len(payload)), payload...)
}

// Control builds a ping, pong or close frame; a payload over 125 bytes
// is cut there.
func Control(op byte, payload []byte) []byte {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	return append(AppendHeader(make([]byte, 0, 2+len(payload)), op, len(payload)), payload...)
}

// Close builds a close frame with a status code and a reason.
func Close(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return Control(OpClose, append(p, reason...))
}

// AppendJSONString appends s as a JSON string. Plain ASCII is copied; other
// strings go through encoding/json so escaping is always right.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Reserve is the room left at the front of a buffer for the longest
// frame header, so a payload can be built first and framed in place.
const Reserve = 10

// NewBuf returns a buffer for an event frame of about size payload
// bytes, with Reserve bytes reserved for the header.
func NewBuf(size int) []byte { return make([]byte, Reserve, Reserve+size) }

// Finish writes the text-frame header just in front of the payload built
// after the reserve of buf (see NewBuf), and returns the complete frame.
func Finish(buf []byte) []byte {
	n := len(buf) - Reserve
	h := HeaderLen(n)
	AppendHeader(buf[Reserve-h:Reserve-h], OpText, n)
	return buf[Reserve-h:]
}

// Ping is a ping frame without payload.
var Ping = Control(OpPing, nil)

// Payload returns the payload of one complete, unmasked text frame as
// built here, and whether f is exactly that.
func Payload(f []byte) ([]byte, bool) {
	if len(f) < 2 || f[0] != OpText || f[1]&0x80 != 0 {
		return nil, false
	}
	n, h := int(f[1]), 2
	switch n {
	case 126:
		if len(f) < 4 {
			return nil, false
		}
		n, h = int(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		if len(f) < 10 {
			return nil, false
		}
		n, h = int(binary.BigEndian.Uint64(f[2:])), 10
	}
	return f[h:], len(f) == h+n
}
