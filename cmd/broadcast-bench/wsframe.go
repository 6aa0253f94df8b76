//go:build linux

package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
)

// WebSocket opcodes (RFC 6455).
const (
	opCont  = 0x0
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xa
)

// maxFrame bounds a server frame; the benchmark's are a few hundred bytes.
const maxFrame = 1 << 20

var errFrame = errors.New("websocket: bad server frame")

// parseFrame reads one server frame from the start of b. It returns n = 0
// when b holds only part of a frame. Server frames are never masked.
func parseFrame(b []byte) (op byte, fin bool, payload []byte, n int, err error) {
	if len(b) < 2 {
		return 0, false, nil, 0, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[0]&0x70 != 0 || b[1]&0x80 != 0 {
		return 0, false, nil, 0, fmt.Errorf("%w: reserved bits or mask set", errFrame)
	}
	size, h := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, false, nil, 0, nil
		}
		size, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, false, nil, 0, nil
		}
		size, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if size > maxFrame {
		return 0, false, nil, 0, fmt.Errorf("%w: %d bytes", errFrame, size)
	}
	if op >= opClose && (size > 125 || !fin) {
		return 0, false, nil, 0, fmt.Errorf("%w: bad control frame", errFrame)
	}
	end := h + int(size)
	if len(b) < end {
		return 0, false, nil, 0, nil
	}
	return op, fin, b[h:end], end, nil
}

// appendClientFrame appends a final, masked client frame.
func appendClientFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	dst = append(dst, key[:]...)
	for i, c := range payload {
		dst = append(dst, c^key[i&3])
	}
	return dst
}

// closeCode returns the status code of a close frame's payload (1005
// when it carries none).
func closeCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(payload))
}

// upgradeRequest builds the opening handshake for host and path.
func upgradeRequest(host, path string) (req []byte, accept string) {
	var nonce [16]byte
	for i := range nonce {
		nonce[i] = byte(rand.Uint32())
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req = fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host, key)
	return req, acceptKey(key)
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// parseUpgrade checks a handshake answer in b. It returns the length of
// the header block (0 while incomplete); bytes after it are frames.
func parseUpgrade(b []byte, accept string) (int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > 8192 {
			return 0, errors.New("websocket: handshake answer too long")
		}
		return 0, nil
	}
	head := b[:end]
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		return 0, fmt.Errorf("websocket: handshake refused: %q", line)
	}
	if !bytes.Contains(head, []byte(accept)) {
		return 0, errors.New("websocket: bad Sec-WebSocket-Accept")
	}
	return end + 4, nil
}
