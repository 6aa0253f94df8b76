package redisbroker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{name: "unknown scheme", opts: Options{URL: "http://127.0.0.1:6379"}, want: []string{"REDIS_URL", `"http://127.0.0.1:6379"`, "scheme"}},
		{name: "garbage", opts: Options{URL: "::not a url"}, want: []string{"REDIS_URL", "::not a url"}},
		{name: "bad port hides password", opts: Options{URL: "redis://:s3cret@127.0.0.1:notaport/0"}, want: []string{"REDIS_URL", "xxxxx"}},
		{name: "unknown parameter", opts: Options{URL: "redis://127.0.0.1:6379/0?bogus=1"}, want: []string{"REDIS_URL", "bogus"}},
		{name: "nothing listening", opts: Options{URL: "redis://:s3cret@127.0.0.1:1/0", Timeout: 300 * time.Millisecond}, want: []string{"cannot reach Redis", "REDIS_URL", "127.0.0.1:1", "xxxxx"}},
		{name: "prefix with hash tag", opts: Options{Prefix: "app{1}:"}, want: []string{"Prefix"}},
		{name: "node id with space", opts: Options{NodeID: "a b"}, want: []string{"NodeID"}},
		{name: "bound too short", opts: Options{CleanupBound: time.Millisecond}, want: []string{"CleanupBound"}},
		{name: "negative timeout", opts: Options{Timeout: -time.Second}, want: []string{"Timeout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.opts)
			if err == nil {
				_ = b.Close()
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestMalformedMessagesAreDroppedAndLogged(t *testing.T) {
	t.Parallel()
	n := nodes(t, 1, nil)[0]
	c := n.dial(t, "")
	c.subscribe("orders")
	rc := rawClient(t, redisURL(t))
	channel := n.br.keys.pubsub("orders")
	garbage := []string{
		"",
		"hello",
		`{"event":"x","data":1}`,
		"\xb7",
		"\xb7\x02\x01x",                  // unknown version
		"\xb7\x01",                       // truncated header
		"\xb7\x01\x05ab",                 // event longer than the message
		"\xb7\x01\x00\x00\x00{}",         // empty event
		"\xb7\x01\x01x\x00\x00{not json", // data not JSON
		"\xb7\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01x", // huge length
		"\xb7\x01\x01x\x7f", // except longer than allowed
	}
	for _, g := range garbage {
		if err := rc.Publish(context.Background(), channel, g).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.b.Channel("orders").Emit("valid", 1); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("valid"); string(f.Data) != "1" {
		t.Fatalf("frame %s", f.raw)
	}
	if got := n.br.dropped.Total(); got != uint64(len(garbage)) {
		t.Fatalf("dropped %d messages, want %d", got, len(garbage))
	}
	if !n.logs.Contains("dropped malformed message") {
		t.Fatal("no log line for the malformed messages")
	}
	if !n.br.Healthy() {
		t.Fatal("node unhealthy after garbage")
	}
}

func TestBrokerBeforeStartAndAfterClose(t *testing.T) {
	t.Parallel()
	b, err := New(Options{Prefix: testPrefix(t, redisURL(t))})
	if err != nil {
		t.Fatal(err)
	}
	if b.Healthy() || !errors.Is(b.Health(context.Background()), ErrUnavailable) {
		t.Fatal("an unstarted broker claims to be healthy")
	}
	if err := b.Start(nil); err == nil {
		t.Fatal("Start(nil) succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
