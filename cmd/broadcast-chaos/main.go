//go:build linux

// Command broadcast-chaos runs fault and endurance tests of Velocity
// Broadcast on this machine, against real processes it starts and stops
// itself (examples/benchserver nodes and a Redis of its own), over real
// WebSocket connections on loopback only. It prints figures; it asserts
// nothing. scripts/chaos.sh and scripts/soak.sh build and drive it.
//
//	broadcast-chaos fault -fault redis-stop|redis-restart|node-restart -benchserver BIN
//	broadcast-chaos soak -benchserver BIN -d 30m
//
// fault: two nodes on one Redis, subscribers on node B (reconnecting and
// subscribing again on every close, like a real client), a publisher on
// node A with sequence numbers; then one fault, and the accounting of what
// was acknowledged and lost, duplicated, how long delivery took to resume
// and which close codes the subscribers saw.
//
// soak: one node, thousands of connections with churn, subscribe and
// unsubscribe traffic and publishes for a duration, sampling the node's
// RSS, goroutines and open files, then their least-squares slopes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("broadcast-chaos: ")
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "fault":
		err = faultCmd(ctx, os.Args[2:])
	case "table-header":
		fmt.Println(tableHeader)
	case "soak":
		err = soakCmd(ctx, os.Args[2:])
	default:
		usage()
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		stop()
		log.Fatal(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: broadcast-chaos fault|soak [flags] (-h for the flags), or broadcast-chaos table-header")
	os.Exit(2)
}

func faultCmd(ctx context.Context, args []string) error {
	cfg := &chaosConfig{}
	fs := flag.NewFlagSet("broadcast-chaos fault", flag.ContinueOnError)
	fs.StringVar(&cfg.fault, "fault", "redis-stop", "redis-stop | redis-restart | node-restart")
	fs.StringVar(&cfg.benchserver, "benchserver", "", "path of the examples/benchserver binary (required)")
	fs.StringVar(&cfg.redisServer, "redis-server", "redis-server", "path of redis-server")
	fs.StringVar(&cfg.dir, "dir", os.TempDir(), "directory for the processes' logs and the pid file")
	fs.IntVar(&cfg.subs, "subs", 300, "subscribers on node B")
	fs.IntVar(&cfg.chans, "channels", 5, "channels (subscriber i is on channel i mod channels)")
	fs.Float64Var(&cfg.rate, "rate", 100, "publishes/s to node A")
	fs.DurationVar(&cfg.before, "before", 10*time.Second, "publishing time before the fault")
	fs.DurationVar(&cfg.hold, "hold", 0, "how long Redis stays stopped (redis-stop, default 10s) or the process down before its restart (default 1s)")
	fs.DurationVar(&cfg.after, "after", 20*time.Second, "publishing time after the fault ended")
	fs.DurationVar(&cfg.drain, "drain", 3*time.Second, "wait for late deliveries after the last publish")
	fs.StringVar(&cfg.history, "history", "", `history rules of the nodes (BROADCAST_HISTORY, e.g. "*=10000/10m"): nodes fill gaps from history and subscribers resubscribe with a since`)
	maxTime := fs.Duration("max-time", 5*time.Minute, "hard bound on the run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := faults[cfg.fault]; !ok {
		return fmt.Errorf("-fault %q: want redis-stop, redis-restart or node-restart", cfg.fault)
	}
	if cfg.benchserver == "" {
		return errors.New("-benchserver is required")
	}
	if cfg.subs < 1 || cfg.chans < 1 || cfg.rate <= 0 || cfg.rate > 5000 {
		return errors.New("want -subs ≥ 1, -channels ≥ 1 and 0 < -rate ≤ 5000")
	}
	if cfg.hold == 0 {
		cfg.hold = time.Second
		if cfg.fault == "redis-stop" {
			cfg.hold = 10 * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *maxTime)
	defer cancel()
	return runChaos(ctx, cfg, os.Stdout)
}
