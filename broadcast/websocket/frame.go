package websocket

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// WebSocket opcodes with the FIN bit set. Server frames are never masked,
// so a frame built once is valid for every recipient.
const (
	opText  = 0x81
	opClose = 0x88
	opPing  = 0x89
	opPong  = 0x8A
)

// headerLen is the length of an unmasked frame header for n payload bytes.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// appendHeader appends an unmasked frame header.
func appendHeader(b []byte, op byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, op, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, op, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, op, 127), uint64(n))
}

// textFrame wraps payload in a complete text frame.
func textFrame(payload []byte) []byte {
	f := make([]byte, 0, headerLen(len(payload))+len(payload))
	return append(appendHeader(f, opText, len(payload)), payload...)
}

// controlFrame builds a ping, pong or close frame (payload ≤ 125 bytes).
func controlFrame(op byte, payload []byte) []byte {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	return append(appendHeader(make([]byte, 0, 2+len(payload)), op, len(payload)), payload...)
}

// closeFrame builds a close frame with a status code and a reason.
func closeFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return controlFrame(opClose, append(p, reason...))
}

// appendJSONString appends s as a JSON string. Plain ASCII is copied; other
// strings go through encoding/json so escaping is always right.
func appendJSONString(b []byte, s string) []byte {
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

// frameReserve is the room left at the front of a buffer for the longest
// frame header, so a payload can be built first and framed in place.
const frameReserve = 10

// newFrameBuf returns a buffer for an event frame of about size payload
// bytes, with frameReserve bytes reserved for the header.
func newFrameBuf(size int) []byte { return make([]byte, frameReserve, frameReserve+size) }

// finishFrame writes the text-frame header just in front of the payload
// built after the reserve of buf, and returns the complete frame.
func finishFrame(buf []byte) []byte {
	n := len(buf) - frameReserve
	h := headerLen(n)
	appendHeader(buf[frameReserve-h:frameReserve-h], opText, n)
	return buf[frameReserve-h:]
}
