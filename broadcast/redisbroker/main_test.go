package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/internal/testenv"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{}) // outage tests would flood the output
	// go-redis redials a failed connection in the background, sleeping 1s
	// between tries; the goroutine sees the pool closed when it wakes.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// quietRedis drops go-redis's own log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...interface{}) {}

// redisURL is the Redis the tests use: REDIS_URL or the local default.
// Without one answering, t is skipped (failed under
// VELOCITY_REQUIRE_SERVICES).
func redisURL(t testing.TB) string { return testenv.Redis(t) }

// testPrefix returns a key prefix of its own for t and deletes its keys
// when t ends (after the nodes, whose cleanups are registered later).
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "vbtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deleteKeys(t, url, prefix) })
	return prefix
}

func deleteKeys(t testing.TB, url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var ks []string
	for iter.Next(ctx) {
		ks = append(ks, iter.Val())
	}
	if len(ks) > 0 {
		c.Del(ctx, ks...)
	}
}

// rawClient is a plain client on url, closed when t ends.
func rawClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}
