package websocket

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/internal/testenv"
)

// A client's bad requests are logged at debug level with its socket id
// and channel, and a flood of them writes a bounded number of lines.
func TestClientMistakesLoggedAtDebugWithinLimit(t *testing.T) {
	t.Parallel()
	var buf testenv.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newTestServer(t, Config{MaxInboundRate: -1}, WithLogger(logger))
	c := ts.dial(t, nil)
	for range 500 {
		c.Send(`{"type":"client-x","channel":"private-never","data":{}}`)
	}
	for i := range 500 {
		if f := c.Expect("error"); f.Code() != CodeNotSubscribed {
			t.Fatalf("answer %d: %s", i, f.Raw)
		}
	}
	out := buf.String()
	n := strings.Count(out, "client request refused")
	if n == 0 || n > 25 {
		t.Fatalf("%d log lines for 500 bad requests:\n%s", n, out)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "client request refused") {
			line = l
			break
		}
	}
	for _, want := range []string{"level=DEBUG", "socket_id=" + c.SocketID, "channel=private-never", "code=4405"} {
		if !strings.Contains(line, want) {
			t.Fatalf("log line %q lacks %s", line, want)
		}
	}
}
