package testenv

import (
	"strings"
	"testing"
	"time"
)

func TestNATSUnreachable(t *testing.T) {
	t.Setenv("NATS_URL", "nats://user:hunter2@127.0.0.1:1") // nothing listens on port 1
	for _, require := range []string{"", "1"} {
		t.Setenv(RequireEnv, require)
		r := &recorder{}
		start := time.Now()
		NATS(r)
		if d := time.Since(start); d > RedisTimeout+time.Second {
			t.Errorf("the check took %v", d)
		}
		reason := r.skipped
		if require != "" {
			reason = r.failed
			if r.skipped != "" {
				t.Errorf("required, yet skipped: %q", r.skipped)
			}
		} else if r.failed != "" {
			t.Errorf("optional, yet failed: %q", r.failed)
		}
		if !strings.HasPrefix(reason, "NATS with JetStream not reachable at nats://user:xxxxx@127.0.0.1:1: ") || !strings.Contains(reason, "NATS_URL") {
			t.Errorf("require=%q: reason %q", require, reason)
		}
	}
}

func TestNATSURL(t *testing.T) {
	t.Setenv("NATS_URL", "")
	if got := NATSURL(); got != DefaultNATSURL {
		t.Errorf("default NATSURL = %q", got)
	}
	t.Setenv("NATS_URL", "nats://10.0.0.1:4222")
	if got := NATSURL(); got != "nats://10.0.0.1:4222" {
		t.Errorf("NATSURL = %q", got)
	}
}

// TestLocalNATS uses the helper as a test would: it runs against the
// local NATS, and is skipped (or fails, with VELOCITY_REQUIRE_SERVICES)
// when there is none.
func TestLocalNATS(t *testing.T) {
	if u := NATS(t); u == "" {
		t.Fatal("empty URL")
	}
}
