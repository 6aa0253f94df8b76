package websocket

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanout emits to one channel with N subscribers on real
// loopback WebSocket connections. The subscribers live in a child process
// (this test binary re-executed), so that 10,000 connections fit under
// the per-process file limit, and the parent's allocation counts are the
// server's alone. One op is one emit; deliveries/s counts frames the
// clients read, allocs/delivery the server process's allocations.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

const benchClientsEnv = "VELOCITY_BENCH_CLIENTS"

func benchFanout(b *testing.B, n int) {
	ts := newTestServer(b, Config{MaxQueueBytes: 4 << 20})
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", benchClientsEnv, ts.url, n))
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("clients did not start: %q", lines.Text())
	}
	if got := ts.hub.Count("bench"); got != n {
		b.Fatalf("%d subscribers, want %d", got, n)
	}
	payload := map[string]any{"seq": 0, "body": strings.Repeat("x", 120)}
	wait := func(total int) {
		fmt.Fprintf(stdin, "%d\n", total)
		if !lines.Scan() {
			b.Fatal("clients went away")
		}
	}
	const batch = 50 // emits between waits: bounds every queue
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		payload["seq"] = i
		if err := ts.b.Channel("bench").Emit("Tick", payload); err != nil {
			b.Fatal(err)
		}
		if (i+1)%batch == 0 {
			wait((i + 1 - batch/2) * n)
		}
	}
	wait(b.N * n)
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := float64(b.N) * float64(n)
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/deliveries, "B/delivery")
}

// runBenchClients is the child: it opens the connections, subscribes
// them, prints "ready", then for each number read on stdin prints a line
// once the clients together read that many events.
func runBenchClients(spec string) int {
	url, ns, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(ns)
	var got atomic.Int64
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			return 1
		}
		_, _, _ = ws.ReadMessage() // connected
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","data":{"channel":"bench"}}`))
		_, _, _ = ws.ReadMessage() // subscription_succeeded
		conns = append(conns, ws)
	}
	for _, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		want, _ := strconv.ParseInt(in.Text(), 10, 64)
		for got.Load() < want {
			time.Sleep(200 * time.Microsecond)
		}
		fmt.Println("ok")
	}
	for _, ws := range conns {
		ws.Close()
	}
	wg.Wait()
	return 0
}
