package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEngineEnv) != "" {
		runChild() // a node process of a kill test; never returns
	}
	redis.SetLogger(quietRedis{}) // restart tests would flood the output
	// go-redis redials a failed connection in the background, sleeping 1s
	// between tries; the goroutine sees the pool closed when it wakes.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// quietRedis drops go-redis's own log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...interface{}) {}

// brokerOptions are the options every engine has.
type brokerOptions struct {
	URL, Prefix  string
	CleanupBound time.Duration
	Timeout      time.Duration // of every back-end call; 0: the engine's default
	Logger       *slog.Logger
}

// engineBroker is what the tests use of a distributed broker.
type engineBroker interface {
	broker.Broker
	broker.HealthChecker
	Healthy() bool
}

// engine is one distributed broker and its back end.
type engine struct {
	name string
	// url is the shared back end of the tests that do not stop it.
	url func(t testing.TB) string
	// prefix returns a namespace of t's own on the back end at url and
	// deletes what the nodes left there when t ends.
	prefix func(t testing.TB, url string) string
	// open connects a node's broker and returns it with its presence
	// store.
	open func(o brokerOptions) (engineBroker, broker.GracefulPresence, error)
	// unavailable is wrapped by the error of a call while the back end
	// is down.
	unavailable error
	// restartLog is logged by a node that finds the restarted back end
	// without its state and writes it again.
	restartLog string
}

var engines = []engine{
	{
		name:   "redis",
		url:    testenv.Redis,
		prefix: redisPrefix,
		open: func(o brokerOptions) (engineBroker, broker.GracefulPresence, error) {
			b, err := redisbroker.New(redisbroker.Options{URL: o.URL, Prefix: o.Prefix, CleanupBound: o.CleanupBound, Timeout: o.Timeout, Logger: o.Logger})
			if err != nil {
				return nil, nil, err
			}
			return b, b.Presence(), nil
		},
		unavailable: redisbroker.ErrUnavailable,
		restartLog:  "registering it again",
	},
	{
		name:   "nats",
		url:    testenv.NATS,
		prefix: natsPrefix,
		open: func(o brokerOptions) (engineBroker, broker.GracefulPresence, error) {
			b, err := natsbroker.New(natsbroker.Options{URL: o.URL, Prefix: o.Prefix, CleanupBound: o.CleanupBound, Timeout: o.Timeout, Logger: o.Logger})
			if err != nil {
				return nil, nil, err
			}
			return b, b.Presence(), nil
		},
		unavailable: natsbroker.ErrUnavailable,
		restartLog:  "registering it again",
	},
}

// engineNamed returns the engine called name.
func engineNamed(name string) (engine, error) {
	for _, e := range engines {
		if e.name == name {
			return e, nil
		}
	}
	return engine{}, errors.New("no engine " + name)
}

// forEachEngine runs f as a parallel subtest per engine.
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	t.Helper()
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			f(t, e)
		})
	}
}

// redisPrefix is a key prefix; its keys are deleted when t ends.
func redisPrefix(t testing.TB, url string) string { return testenv.RedisNamespace(t, url, "vbcluster") }

// natsPrefix is a bucket and subject prefix; its buckets and streams
// are deleted when t ends.
func natsPrefix(t testing.TB, url string) string { return testenv.NATSNamespace(t, url, "vbcluster") }
