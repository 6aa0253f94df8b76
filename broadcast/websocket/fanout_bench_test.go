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

	"github.com/velocitykode/velocity/broadcast"
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
	wait := startBenchClients(b, ts, n)
	payload := map[string]any{"seq": 0, "body": strings.Repeat("x", 120)}
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

// startBenchClients starts the child process of n subscribers of channel
// "bench" on ts and returns a function that waits until they together
// read total events.
func startBenchClients(b *testing.B, ts *testServer, n int) (wait func(total int)) {
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", benchClientsEnv, ts.url, n))
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = child.Wait() })
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("clients did not start: %q", lines.Text())
	}
	if got := ts.hub.Count("bench"); got != n {
		b.Fatalf("%d subscribers, want %d", got, n)
	}
	return func(total int) {
		fmt.Fprintf(stdin, "%d\n", total)
		if !lines.Scan() {
			b.Fatal("clients went away")
		}
	}
}

// BenchmarkFanoutHot is the hot channel of load scenario S2: 2,000
// subscribers of one channel on real connections, and 8 publishers per
// P emitting to it at once, with and without history on the channel
// (the in-memory broker then sequences every publication).
func BenchmarkFanoutHot(b *testing.B) {
	const n = 2000
	for _, hist := range []bool{false, true} {
		b.Run(fmt.Sprintf("history=%v", hist), func(b *testing.B) {
			cfg := Config{MaxQueueBytes: 4 << 20}
			if hist {
				cfg.History = []broadcast.HistoryRule{{Pattern: "bench", Size: 1000, TTL: 5 * time.Minute}}
			}
			ts := newTestServer(b, cfg)
			wait := startBenchClients(b, ts, n)
			benchHotEmits(b, ts, func(total int) { wait(total * n) }, n)
		})
	}
}

// benchHotEmits emits b.N events to channel "bench" from 8 goroutines
// per P. Every window emits, one publisher waits until all but the last
// half window have been delivered (wait, given a number of emits), which
// bounds every queue.
func benchHotEmits(b *testing.B, ts *testServer, wait func(emits int), n int) {
	const window = 256
	var seq atomic.Int64
	var waitMu sync.Mutex
	body := strings.Repeat("x", 120)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w0, haveWrites := writeSyscalls()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ch := ts.b.Channel("bench")
		for pb.Next() {
			i := int(seq.Add(1))
			if err := ch.Emit("Tick", map[string]any{"seq": i, "body": body}); err != nil {
				b.Error(err)
				return
			}
			if i%window == 0 {
				waitMu.Lock()
				wait(i - window/2)
				waitMu.Unlock()
			}
		}
	})
	wait(int(seq.Load()))
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := float64(seq.Load()) * float64(n)
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	if w1, ok := writeSyscalls(); ok && haveWrites && w1 > w0 {
		// Frames per socket write: how well deliveries coalesce.
		b.ReportMetric(deliveries/float64(w1-w0), "deliveries/write")
	}
}

// writeSyscalls is the process's count of write system calls (Linux's
// /proc/self/io), and false where there is none.
func writeSyscalls() (int64, bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
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
