package natsbroker

import (
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsURL is the NATS the tests use: NATS_URL or the local default.
// Without one answering, t is skipped (failed under
// VELOCITY_REQUIRE_SERVICES).
func natsURL(t testing.TB) string { return testenv.NATS(t) }

// testPrefix returns a prefix of its own for t and deletes its buckets
// when t ends (after the nodes, whose cleanups are registered later).
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	return testenv.NATSNamespace(t, url, "vbtest")
}

// rawConn is a plain connection to url, closed when t ends.
func rawConn(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
