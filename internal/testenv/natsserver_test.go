//go:build unix

package testenv

import (
	"testing"
	"time"
)

// A test's own nats-server answers with JetStream, stops, and starts
// again on its port, also wiped.
func TestNATSServerRestart(t *testing.T) {
	s := StartNATS(t)
	if err := pingNATS(s.URL(), time.Second); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := pingNATS(s.URL(), time.Second); err == nil {
		t.Fatal("a stopped server answered")
	}
	s.Wipe()
	s.Start()
	if err := pingNATS(s.URL(), time.Second); err != nil {
		t.Fatal(err)
	}
}
