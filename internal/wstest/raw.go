package wstest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Raw is a WebSocket client over a plain TCP socket that writes frames
// byte by byte as the test builds them, so that it can send what no
// library would: unmasked frames, reserved bits, bad opcodes, broken
// close frames. It reads the server's frames itself.
type Raw struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// Opcodes and flags for Raw.Frame.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
	FIN            = 0x80
	RSV1           = 0x40
	RSV2           = 0x20
	RSV3           = 0x10
)

// DialRawTCP connects to a ws:// url and does the opening handshake by
// hand.
func DialRawTCP(t testing.TB, wsURL string) *Raw {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.DialTimeout("tcp", u.Host, ReadTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", u.Host, err)
	}
	t.Cleanup(func() { nc.Close() })
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		key + "\r\n\r\n"
	_ = nc.SetDeadline(time.Now().Add(ReadTimeout))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("handshake answered %s, accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	return &Raw{t: t, nc: nc, br: br}
}

// Frame writes one frame: b0 is the first header byte (FIN, RSV bits and
// opcode), masked says whether the payload is masked as a client must.
func (r *Raw) Frame(b0 byte, masked bool, payload []byte) {
	r.t.Helper()
	f := []byte{b0, 0}
	switch n := len(payload); {
	case n < 126:
		f[1] = byte(n)
	case n <= 0xFFFF:
		f[1] = 126
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f[1] = 127
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if masked {
		f[1] |= 0x80
		var key [4]byte
		_, _ = rand.Read(key[:])
		f = append(f, key[:]...)
		for i := range p {
			p[i] ^= key[i&3]
		}
	}
	_ = r.nc.SetWriteDeadline(time.Now().Add(ReadTimeout))
	if _, err := r.nc.Write(append(f, p...)); err != nil {
		r.t.Fatalf("write frame: %v", err)
	}
}

// Send writes one complete, masked frame of opcode op.
func (r *Raw) Send(op byte, payload []byte) { r.t.Helper(); r.Frame(FIN|op, true, payload) }

// CloseFrame returns a close payload: the status code and the reason.
func CloseFrame(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// Next reads the server's next frame: its first header byte and payload.
func (r *Raw) Next() (b0 byte, payload []byte, err error) {
	_ = r.nc.SetReadDeadline(time.Now().Add(ReadTimeout))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7F)
	var ext [8]byte
	switch n {
	case 126:
		if _, err := io.ReadFull(r.br, ext[:2]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:2]))
	case 127:
		if _, err := io.ReadFull(r.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0], payload, nil
}

// ExpectText reads the next frame, which must be a text frame containing
// want.
func (r *Raw) ExpectText(want string) {
	r.t.Helper()
	b0, p, err := r.Next()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	if b0 != FIN|OpText || !strings.Contains(string(p), want) {
		r.t.Fatalf("got frame %#x %q, want a text frame with %q", b0, p, want)
	}
}

// ExpectClose reads until the server's close frame, skipping data and
// pings, and returns its status code (1005 when it has none). It fails
// the test if the server sends nothing more after the close frame but
// keeps the socket open.
func (r *Raw) ExpectClose() int {
	r.t.Helper()
	for {
		b0, p, err := r.Next()
		if err != nil {
			r.t.Fatalf("connection ended without a close frame: %v", err)
		}
		if b0&0x0F != OpClose {
			continue
		}
		if b0 != FIN|OpClose {
			r.t.Fatalf("close frame with first byte %#x", b0)
		}
		code := 1005
		if len(p) >= 2 {
			code = int(binary.BigEndian.Uint16(p))
		}
		// After its close frame the server closes the socket.
		if _, _, err := r.Next(); err == nil {
			r.t.Fatal("the server sent a frame after its close frame")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			r.t.Fatal("the server kept the socket open after its close frame")
		}
		return code
	}
}
