package redisbroker

import (
	"context"
	"testing"

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
	return testenv.RedisNamespace(t, url, "vbtest")
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
