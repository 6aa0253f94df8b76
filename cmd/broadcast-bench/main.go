//go:build linux

// Command broadcast-bench is the load generator of Velocity Broadcast: it
// drives a running server on this machine (Velocity's native protocol, or
// Centrifugo's for comparison), publishes open loop at a fixed offered
// rate over the server's HTTP API, checks every expected delivery
// (missing, duplicated, out of order) and reports delivered/s, latency
// percentiles, and the server's CPU and memory from /proc.
//
// Scenarios (-scenario):
//
//	s1  idle: 15,000 connections on a channel each; memory per connection,
//	    idle CPU, connect+subscribe rate
//	s2  one channel: 2,000 subscribers; ramp to the highest rate with
//	    p99 ≤ 50 ms and nothing lost
//	s3  many channels: 15,000 connections, groups of 5 plus a personal
//	    channel each, random publishes, 200 reconnects/s
//	s4  slow readers: s2 at a fixed rate, then 10% stop reading
//	s5  recovery: 1,000 subscribers of a channel with history disconnect,
//	    -missed events are published, they reconnect with their last
//	    position; recovery time, lost and duplicated events
//
// With -history the results record the server's history rules (which
// scripts/bench.sh passes it as BROADCAST_HISTORY), and -redis-addr adds
// the Redis commands per publish (INFO commandstats).
//
// Results are printed as one JSON line each on stdout and as a table on
// stderr. "broadcast-bench report FILE…" turns saved JSON lines into a
// markdown comparison of the two targets. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("broadcast-bench: ")
	if len(os.Args) > 1 && os.Args[1] == "report" {
		files, err := parseReportFlags(os.Args[2:])
		if err != nil {
			exitFlagErr(err)
		}
		if err := runReport(os.Stdout, files); err != nil {
			log.Fatal(err)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		exitFlagErr(err)
	}
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// exitFlagErr ends the process after a command line that did not parse:
// status 0 when help was asked for (-h, -help; the usage is already
// printed), 2 for a bad flag (the flag package printed it and the usage),
// 1 for anything else.
func exitFlagErr(err error) {
	var bad *flagError
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, &bad):
		os.Exit(2)
	}
	log.Fatal(err)
}

func run(cfg *Config) error {
	limit, err := raiseFDLimit()
	if err != nil {
		return fmt.Errorf("raise open-file limit: %w", err)
	}
	if need := uint64(cfg.Conns) + uint64(cfg.Churn*10) + uint64(4*cfg.Publishers) + 64; need > limit {
		return fmt.Errorf("%d connections need about %d open files; the limit is %d", cfg.Conns, need, limit)
	}
	ad, err := newAdapter(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.MaxTime)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := newRunner(ctx, cfg, ad)
	if err != nil {
		return err
	}
	var results []*Result
	emit := func(res *Result) {
		res.writeJSON(os.Stdout)
		results = append(results, res)
	}
	log.Printf("%s %s: %d connections, mode %s, server pid %v", cfg.Target, cfg.Scenario, cfg.Conns, cfg.Mode, cfg.PIDs)
	if len(cfg.PIDs) == 0 {
		log.Printf("no -server-pid: server CPU and RSS are not measured")
	}
	if cfg.Mode == "idle" {
		emit(r.runIdle(ctx))
	} else {
		if err := r.connectAll(ctx); err != nil {
			return err
		}
		switch {
		case cfg.Mode == "recovery":
			emit(r.runRecovery(ctx, emit))
		case cfg.SlowFrac > 0:
			emit(r.runSlow(ctx, emit))
		case cfg.Mode == "ramp":
			emit(r.ramp(ctx, emit))
		default:
			emit(r.step(ctx, "fixed", cfg.Rate, cfg.Step))
		}
	}
	r.closeAll()
	printTable(os.Stderr, results)
	return ctx.Err()
}

// connectAll opens every slot's connection; more than 1% failures abort.
func (r *runner) connectAll(ctx context.Context) error {
	slots := make([]int, r.cfg.Conns)
	for i := range slots {
		slots[i] = i
	}
	failed := r.connectSlots(ctx, slots)
	if failed*100 > r.cfg.Conns {
		return fmt.Errorf("%d of %d connections failed", failed, r.cfg.Conns)
	}
	log.Printf("%d connections subscribed (%d failed)", r.cfg.Conns-failed, failed)
	return nil
}
