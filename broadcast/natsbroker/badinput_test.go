package natsbroker

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// Foreign and malformed messages on a channel's subject are dropped,
// counted and logged at most once a second; the channel keeps working.
func TestMalformedMessagesDropped(t *testing.T) {
	t.Parallel()
	logs := &testenv.Buffer{}
	b := newTestBroker(t, func(o *Options) { o.Logger = logs.Logger() })
	var mu sync.Mutex
	var got []*broker.Envelope
	if err := b.Start(func(e *broker.Envelope) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx := t.Context()
	if err := b.Subscribe(ctx, "feed"); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, b.opts.URL)
	subject := b.subj.channel("feed")
	const junk = 500
	for i := range junk {
		payload := [][]byte{[]byte(`{"event":"x"}`), {}, {wireMagic, wireVersion, 0xff}, encode(broker.New("feed", broker.EventResync, nil))}[i%4]
		if err := raw.Publish(subject, payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, broker.New("feed", "Good", json.RawMessage(`1`))); err != nil {
		t.Fatal(err)
	}
	wstest.EventuallyWithin(t, 5*time.Second, "the good message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	mu.Lock()
	if len(got) != 1 || got[0].Event != "Good" {
		t.Fatalf("delivered %d envelopes, first %q", len(got), got[0].Event)
	}
	mu.Unlock()
	if n := b.Dropped(); n != junk {
		t.Fatalf("Dropped = %d, want %d", n, junk)
	}
	if !logs.Contains("dropped malformed message") {
		t.Fatal("drops not logged")
	}
	if n := strings.Count(logs.String(), "dropped malformed message"); n > 2 {
		t.Fatalf("%d drop log lines for one burst, want at most 2", n)
	}
}
