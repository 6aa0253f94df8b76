package websocket

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(benchClientsEnv); spec != "" {
		os.Exit(runBenchClients(spec)) // child process of BenchmarkFanout
	}
	goleak.VerifyTestMain(m)
}
