//go:build unix

package testenv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process of one test, on a port of its
// own, without persistence, stopped when the test ends. Tests of outages
// freeze, stop, kill and restart it.
type RedisServer struct {
	t      testing.TB
	port   int
	args   []string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
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
	s := &RedisServer{t: t, port: port}
	s.args = append([]string{bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server again on its port (empty: nothing persists) and
// waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.out = &syncBuffer{}
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(s.cmd)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		select {
		case <-exited:
			s.t.Fatalf("redis-server exited at start: %s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatal("redis-server did not answer within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running reports whether the server runs: started and not stopped or
// killed since.
func (s *RedisServer) Running() bool { return s.cmd != nil }

// Port is the server's port.
func (s *RedisServer) Port() int { return s.port }

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Freeze stops the process (SIGSTOP): connections stay open and nothing
// answers, so only timeouts end the calls.
func (s *RedisServer) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *RedisServer) Thaw() { s.signal(syscall.SIGCONT) }

func (s *RedisServer) signal(sig syscall.Signal) {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for
// it; Start runs it again.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.Thaw() // a frozen process ignores SIGTERM until resumed
	s.signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *RedisServer) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

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

// syncBuffer collects a process's output from its copying goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
