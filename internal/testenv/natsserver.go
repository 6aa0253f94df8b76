//go:build unix

package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NATSServer is a nats-server process of one test, with JetStream on a
// store directory of the test's, on a port of its own, stopped when the
// test ends. Tests of outages stop, freeze and restart it; its JetStream
// data survives a restart.
type NATSServer struct {
	t      testing.TB
	port   int
	store  string
	args   []string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// StartNATS runs nats-server -js for t on a free port. Without the
// binary it skips t, or fails it when Require is true.
func StartNATS(t testing.TB) *NATSServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			settle(t, decide(err, Require()), "nats-server is not installed: "+err.Error())
		}
	}
	s := &NATSServer{t: t, port: FreePort(t), store: t.TempDir()}
	s.args = []string{bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-sd", s.store}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server again on its port and store and waits until it
// answers with JetStream.
func (s *NATSServer) Start() {
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
	deadline := time.Now().Add(10 * time.Second)
	for pingNATS(s.URL(), time.Second) != nil {
		select {
		case <-exited:
			s.t.Fatalf("nats-server exited at start: %s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server did not answer within 10s: %s", s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wipe deletes the JetStream store of a stopped server: the next Start
// begins empty, as a server that lost its data.
func (s *NATSServer) Wipe() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("Wipe of a running nats-server")
	}
	if err := os.RemoveAll(s.store); err != nil {
		s.t.Fatal(err)
	}
}

// URL is the server's nats:// URL.
func (s *NATSServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Freeze stops the process (SIGSTOP) and, where /proc tells, waits until
// it is stopped: connections stay open and nothing answers, so only
// timeouts end the calls.
func (s *NATSServer) Freeze() {
	s.signal(syscall.SIGSTOP)
	if s.cmd == nil {
		return
	}
	stat := fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // no /proc: the signal is all there is
		}
		// The state follows the command name in parentheses.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Thaw resumes a frozen server.
func (s *NATSServer) Thaw() { s.signal(syscall.SIGCONT) }

func (s *NATSServer) signal(sig syscall.Signal) {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for
// it; Start runs it again.
func (s *NATSServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.Thaw()
	s.signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}
