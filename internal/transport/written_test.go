package transport

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/internal/wsframe"
)

// BytesWritten counts every byte of every frame written, whether a
// flusher wrote it (a small frame) or a writer goroutine did (a frame
// larger than one coalesced write); nothing stays queued after.
func TestBytesWrittenCountsEveryFrame(t *testing.T) {
	t.Parallel()
	client, h := serve(t)
	want := uint64(0)
	for _, msg := range []string{"one", strings.Repeat("x", 70000), "three"} {
		if err := client.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := client.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		want += uint64(len(wsframe.Text([]byte(msg))))
		// The client may read the bytes before the writer counted them.
		deadline := time.Now().Add(5 * time.Second)
		for h.c.pool.BytesWritten() != want {
			if time.Now().After(deadline) {
				t.Fatalf("after a %d-byte echo: %d bytes written, want %d", len(msg), h.c.pool.BytesWritten(), want)
			}
			time.Sleep(time.Millisecond)
		}
		if q := h.c.Queued(); q != 0 {
			t.Fatalf("%d bytes still queued after the echo was read", q)
		}
	}
}
