package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the environment variable that turns a missing service
// from a skip into a failure.
const RequireEnv = "VELOCITY_REQUIRE_SERVICES"

// DefaultRedisURL is the Redis used when REDIS_URL is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// RedisTimeout bounds the PING that checks Redis.
const RedisTimeout = 2 * time.Second

// chromiumNames are the binaries Chromium is found as on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// Require reports whether missing services fail tests instead of
// skipping them (VELOCITY_REQUIRE_SERVICES is non-empty).
func Require() bool { return os.Getenv(RequireEnv) != "" }

// Redis returns the URL of a Redis that answered a PING within
// RedisTimeout: REDIS_URL, or DefaultRedisURL when that is unset. When
// none answers it skips the test, or fails it when Require is true.
func Redis(t testing.TB) string {
	t.Helper()
	u := RedisURL()
	err := pingRedis(u, RedisTimeout)
	settle(t, decide(err, Require()), redisReason(u, err))
	return u
}

// RedisURL is REDIS_URL, or DefaultRedisURL when that is unset.
func RedisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// Chromium returns the path of a Chromium binary: $CHROMIUM when set,
// else the first of chromium, chromium-browser and google-chrome found on
// PATH. When there is none it skips the test, or fails it when Require is
// true.
func Chromium(t testing.TB) string {
	t.Helper()
	path, err := findChromium(os.Getenv("CHROMIUM"), exec.LookPath)
	settle(t, decide(err, Require()), chromiumReason(err))
	return path
}

// outcome is what a test does about a service it asked for.
type outcome int

const (
	proceed outcome = iota // the service is there
	skip                   // it is not, and services are optional
	fail                   // it is not, and services are required
)

func (o outcome) String() string {
	switch o {
	case proceed:
		return "proceed"
	case skip:
		return "skip"
	case fail:
		return "fail"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// decide is the whole policy: a service that answered lets the test go
// on; one that did not skips it, unless services are required.
func decide(err error, require bool) outcome {
	switch {
	case err == nil:
		return proceed
	case require:
		return fail
	default:
		return skip
	}
}

// settle carries out o on t with the one-line reason.
func settle(t testing.TB, o outcome, reason string) {
	t.Helper()
	switch o {
	case skip:
		t.Skip(reason)
	case fail:
		t.Fatal(reason)
	}
}

func redisReason(u string, err error) string {
	return fmt.Sprintf("Redis not reachable at %s: %v; set REDIS_URL or run ./scripts/test.sh", redact(u), err)
}

func chromiumReason(err error) string {
	return fmt.Sprintf("Chromium not found: %v; set CHROMIUM, or run ./scripts/browser-deps.sh or ./scripts/test.sh", err)
}

// pingRedis sends one PING to the Redis at u, without retries, within
// timeout. An address that refuses connections is reported from a plain
// dial first, so that the client library logs nothing about it.
func pingRedis(u string, timeout time.Duration) error {
	opts, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, opts.Network, opts.Addr)
	if err != nil {
		return err
	}
	_ = conn.Close()
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialTimeout = timeout
	opts.ReadTimeout = timeout
	opts.WriteTimeout = timeout
	opts.PoolSize = 1
	opts.DisableIdentity = true
	c := redis.NewClient(opts)
	defer c.Close()
	return c.Ping(ctx).Err()
}

// findChromium returns override when it is set (it must be an executable
// file), else the first of chromiumNames that lookPath finds.
func findChromium(override string, lookPath func(string) (string, error)) (string, error) {
	if override != "" {
		p, err := lookPath(override)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM=%s: %w", override, err)
		}
		return p, nil
	}
	for _, name := range chromiumNames {
		if p, err := lookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("none of chromium, chromium-browser, google-chrome is on PATH")
}

// redact hides the password of a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}
