package wsframe

import (
	"bytes"
	"testing"
)

// Frames of every header size carry their payload back out, and anything
// that is not exactly one such frame is refused.
func TestTextFramesRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		p := bytes.Repeat([]byte{'x'}, n)
		f := Text(p)
		if len(f) != HeaderLen(n)+n {
			t.Fatalf("%d bytes: frame of %d", n, len(f))
		}
		got, ok := Payload(f)
		if !ok || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: payload %d, ok %v", n, len(got), ok)
		}
		buf := append(NewBuf(n), p...)
		if g, ok := Payload(Finish(buf)); !ok || !bytes.Equal(g, p) {
			t.Fatalf("%d bytes: framed in place wrongly", n)
		}
		if _, ok := Payload(f[:len(f)-1]); ok && n > 0 {
			t.Fatalf("%d bytes: a cut frame was accepted", n)
		}
	}
	for _, bad := range [][]byte{nil, {OpText}, {OpClose, 0}, {OpText, 0x81, 0, 0, 0, 0, 'x'}, {OpText, 126, 0}} {
		if _, ok := Payload(bad); ok {
			t.Fatalf("accepted %v", bad)
		}
	}
	if c := Close(4408, "slow"); c[0] != OpClose || c[1] != 6 || c[2] != 0x11 || c[3] != 0x38 {
		t.Fatalf("close frame % x", c)
	}
}
