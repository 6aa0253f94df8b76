//go:build unix

package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NATSServer is a nats-server process of one test, with JetStream on a
// store directory of the test's, on a port of its own, stopped when the
// test ends. Tests of outages stop, freeze and restart it; its JetStream
// data survives a restart.
type NATSServer struct {
	process
	port  int
	store string
}

// StartNATS runs nats-server -js for t on a free port. Without the
// binary it skips t, or fails it when Require is true.
func StartNATS(t testing.TB) *NATSServer {
	t.Helper()
	return StartNATSConfig(t, "")
}

// StartNATSConfig is StartNATS with conf, nats-server configuration file
// text (such as "max_payload: 4096"), given with -c; "" is none.
func StartNATSConfig(t testing.TB, conf string) *NATSServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			settle(t, decide(err, Require()), "nats-server is not installed: "+err.Error())
		}
	}
	s := &NATSServer{process: process{t: t, name: "nats-server"}, port: FreePort(t), store: t.TempDir()}
	s.args = []string{bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-sd", s.store}
	if conf != "" {
		file := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		s.args = append(s.args, "-c", file)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server again on its port and store and waits until it
// answers with JetStream.
func (s *NATSServer) Start() {
	s.t.Helper()
	s.start(func() error { return pingNATS(s.URL(), time.Second) })
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
