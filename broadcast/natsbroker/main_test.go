package natsbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "vbtest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deleteBuckets(url, prefix) })
	return prefix
}

func deleteBuckets(url, prefix string) {
	nc, err := nats.Connect(url, nats.MaxReconnects(0))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range bucketNames(prefix) {
		_ = js.DeleteKeyValue(ctx, name)
	}
	for name := range js.StreamNames(ctx, jetstream.WithStreamListSubject(prefix+".h.>")).Name() {
		_ = js.DeleteStream(ctx, name)
	}
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
