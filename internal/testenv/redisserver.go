//go:build unix

package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process of one test, on a port of its
// own, without persistence, stopped when the test ends. Tests of outages
// freeze, stop, kill and restart it.
type RedisServer struct {
	process
	port int
}

// StartRedis runs redis-server for t on a free port, with extra
// arguments. Without the binary it skips t, or fails it when Require is
// true.
func StartRedis(t testing.TB, extra ...string) *RedisServer {
	t.Helper()
	return StartRedisOn(t, FreePort(t), extra...)
}

// StartRedisOn is StartRedis on a given port.
func StartRedisOn(t testing.TB, port int, extra ...string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		settle(t, decide(err, Require()), "redis-server is not installed (run ./scripts/test.sh, which installs it): "+err.Error())
	}
	s := &RedisServer{process: process{t: t, name: "redis-server"}, port: port}
	s.args = append([]string{bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server again on its port (empty: nothing persists) and
// waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	s.start(func() error { return c.Ping(context.Background()).Err() })
}

// Port is the server's port.
func (s *RedisServer) Port() int { return s.port }

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// FreePort returns a free local port p whose cluster bus port p+10000 is
// free too.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(30000)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free port")
	return 0
}
