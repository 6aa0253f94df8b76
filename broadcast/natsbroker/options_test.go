package natsbroker

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{URL: "http://127.0.0.1:4222"}, `NATS URL (NATS_URL) "http://127.0.0.1:4222"`},
		{Options{URL: "nats://user:secret@:4222"}, "no host"},
		{Options{URL: "nats://127.0.0.1:4222,::bad"}, "NATS_URL"},
		{Options{Prefix: "a.b"}, "Prefix"},
		{Options{Prefix: "a*"}, "Prefix"},
		{Options{NodeID: "x y"}, "NodeID"},
		{Options{CleanupBound: time.Millisecond}, "CleanupBound"},
		{Options{Timeout: -time.Second}, "Timeout"},
	} {
		b, err := New(tc.opts)
		if b != nil {
			_ = b.Close()
		}
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want ErrOptions naming %s", tc.opts, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// A NATS_URL where nothing listens fails start-up, naming it.
func TestNewUnreachableNamesURL(t *testing.T) {
	t.Parallel()
	const url = "nats://user:hunter2@127.0.0.1:1"
	start := time.Now()
	_, err := New(Options{URL: url, Timeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("New = %v, want an error naming the URL", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error shows the password: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("New took %s to fail", took)
	}
}
