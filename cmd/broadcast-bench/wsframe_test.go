//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"testing"
)

// serverFrame builds an unmasked frame as a server sends it.
func serverFrame(op byte, fin bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(f, payload...)
}

func TestParseFrameSizesAndPartial(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 300, 65535, 65536, 70000} {
		p := bytes.Repeat([]byte{'a'}, size)
		f := serverFrame(opText, true, p)
		for cut := 0; cut < len(f); cut += 1 + len(f)/7 {
			if _, _, _, n, err := parseFrame(f[:cut]); n != 0 || err != nil {
				t.Fatalf("size %d cut %d: n %d err %v", size, cut, n, err)
			}
		}
		op, fin, got, n, err := parseFrame(append(f, 0x81))
		if err != nil || op != opText || !fin || n != len(f) || !bytes.Equal(got, p) {
			t.Fatalf("size %d: op %d fin %v n %d/%d err %v", size, op, fin, n, len(f), err)
		}
	}
}

func TestParseFrameRejects(t *testing.T) {
	bad := [][]byte{
		{0x81, 0x81, 0, 0, 0, 0, 'x'}, // masked
		{0xc1, 0x01, 'x'},             // RSV1
		{0x09, 0x00},                  // fragmented ping
		append([]byte{0x89, 126, 0, 200}, make([]byte, 200)...), // long ping
	}
	for _, b := range bad {
		if _, _, _, _, err := parseFrame(b); err == nil {
			t.Errorf("% x accepted", b[:4])
		}
	}
	if code := closeCode([]byte{0x11, 0x38}); code != 4408 {
		t.Errorf("close code %d", code)
	}
}

func TestClientFrameIsMaskedAndDecodes(t *testing.T) {
	for _, size := range []int{3, 200, 70000} {
		p := bytes.Repeat([]byte("ab"), size/2+1)[:size]
		f := appendClientFrame(nil, opText, p)
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("header % x", f[:2])
		}
		h := 2
		switch f[1] & 0x7f {
		case 126:
			h = 4
		case 127:
			h = 10
		}
		key, body := f[h:h+4], f[h+4:]
		for i := range body {
			body[i] ^= key[i&3]
		}
		if !bytes.Equal(body, p) {
			t.Fatalf("size %d: unmasked payload differs", size)
		}
	}
}

func TestUpgradeHandshake(t *testing.T) {
	req, accept := upgradeRequest("127.0.0.1:8099", "/ws")
	if !bytes.HasPrefix(req, []byte("GET /ws HTTP/1.1\r\n")) {
		t.Fatalf("%s", req)
	}
	// RFC 6455 §1.3 example.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %s", got)
	}
	ans := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n\x81\x02{}")
	if n, err := parseUpgrade(ans[:20], accept); n != 0 || err != nil {
		t.Fatalf("partial: %d %v", n, err)
	}
	n, err := parseUpgrade(ans, accept)
	if err != nil || string(ans[n:]) != "\x81\x02{}" {
		t.Fatalf("n %d err %v", n, err)
	}
	if _, err := parseUpgrade([]byte("HTTP/1.1 403 Forbidden\r\n\r\n"), accept); err == nil {
		t.Error("403 accepted")
	}
}

func TestRxTimestamp(t *testing.T) {
	cmsg := func(level, typ uint32, data []byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(16+len(data)))
		b = binary.LittleEndian.AppendUint32(b, level)
		b = binary.LittleEndian.AppendUint32(b, typ)
		b = append(b, data...)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ts := binary.LittleEndian.AppendUint64(nil, 1700000000)
	ts = binary.LittleEndian.AppendUint64(ts, 123)
	oob := append(cmsg(1, 99, []byte{1, 2, 3}), cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts)...)
	if got := rxTimestamp(oob); got != 1700000000*1e9+123 {
		t.Errorf("got %d", got)
	}
	if rxTimestamp(oob[:20]) != 0 || rxTimestamp(nil) != 0 {
		t.Error("truncated control data must give 0")
	}
}
