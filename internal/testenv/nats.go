package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultNATSURL is the NATS used when NATS_URL is not set.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// NATS returns the URL of a NATS server with JetStream that answered
// within RedisTimeout: NATS_URL, or DefaultNATSURL when that is unset.
// When none answers it skips the test, or fails it when Require is true.
func NATS(t testing.TB) string {
	t.Helper()
	u := NATSURL()
	err := pingNATS(u, RedisTimeout)
	settle(t, decide(err, Require()), natsReason(u, err))
	return u
}

// NATSURL is NATS_URL, or DefaultNATSURL when that is unset.
func NATSURL() string {
	if u := os.Getenv("NATS_URL"); u != "" {
		return u
	}
	return DefaultNATSURL
}

func natsReason(u string, err error) string {
	return fmt.Sprintf("NATS with JetStream not reachable at %s: %v; set NATS_URL or run nats-server -js", redact(u), err)
}

// pingNATS connects to u once, without retries, and asks for the
// JetStream account info within timeout.
func pingNATS(u string, timeout time.Duration) error {
	nc, err := nats.Connect(u, nats.Timeout(timeout), nats.MaxReconnects(0), nats.NoCallbacksAfterClientClose())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	return nil
}
