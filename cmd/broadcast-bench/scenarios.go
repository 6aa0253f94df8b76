//go:build linux

package main

import (
	"context"
	"log"
	"os"
	"time"
)

// runIdle is S1: connect everything, let it settle, then watch the idle
// server's CPU and memory.
func (r *runner) runIdle(ctx context.Context) *Result {
	res := r.base("idle")
	base := readProcs(r.cfg.PIDs)
	slots := make([]int, r.cfg.Conns)
	for i := range slots {
		slots[i] = i
	}
	t0 := time.Now()
	res.ConnectFailed = r.connectSlots(ctx, slots)
	res.ConnectS = time.Since(t0).Seconds()
	res.ConnPerS = float64(r.cfg.Conns-res.ConnectFailed) / res.ConnectS
	log.Printf("connected %d in %.1fs; settling %s", r.cfg.Conns-res.ConnectFailed, res.ConnectS, r.cfg.Settle)
	sleep(ctx, r.cfg.Settle)
	s0 := readProcs(r.cfg.PIDs)
	u0 := r.unexpected.Load()
	g1 := readProc(os.Getpid())
	sleep(ctx, r.cfg.Idle)
	s1 := readProcs(r.cfg.PIDs)
	g2 := readProc(os.Getpid())
	r.resources(res, s0, s1, g1, g2)
	res.Seconds = s1.At.Sub(s0.At).Seconds()
	res.Unexpected = r.unexpected.Load() - u0
	res.Acks, res.StreamAcks = r.acks.Load(), r.streamAcks.Load()
	if s1.OK {
		n := float64(r.cfg.Conns - res.ConnectFailed)
		res.RSSBaseMiB = float64(base.RSS) / mib
		res.KiBPerConn = float64(s1.RSS) / 1024 / n
		res.KiBPerConnDelta = (float64(s1.RSS) - float64(base.RSS)) / 1024 / n
	}
	if res.Unexpected > 0 || res.ConnectFailed > 0 {
		res.Note = r.describeErrors()
	}
	return res
}

// runSlow is S4: a baseline at the fixed rate with everyone reading, then
// the same rate while the slow class stops reading. The slow ones then
// resume to learn how the server closed them.
func (r *runner) runSlow(ctx context.Context, emit func(*Result)) *Result {
	base := r.step(ctx, "baseline", r.cfg.Rate, r.cfg.Step)
	emit(base)
	slow := r.liveClients(classSlow)
	for _, c := range slow {
		c.stopReading()
	}
	stats0 := r.ad.ServerStats(ctx, r.hc)
	log.Printf("%d slow readers stopped reading; publishing %s", len(slow), r.cfg.SlowPhase)
	peak := make(chan uint64, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() {
		var m uint64
		for sctx.Err() == nil {
			m = max(m, readProcs(r.cfg.PIDs).RSS)
			sleep(sctx, 500*time.Millisecond)
		}
		peak <- m
	}()
	res := r.step(ctx, "slow", r.cfg.Rate, r.cfg.SlowPhase)
	stop()
	res.RSSMaxMiB = float64(<-peak) / mib
	for _, c := range slow {
		c.resumeReading()
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range slow {
		select {
		case <-c.done:
		case <-time.After(time.Until(deadline)):
		}
	}
	res.SlowConns = len(slow)
	if stats1 := r.ad.ServerStats(ctx, r.hc); stats1 != nil {
		res.ServerSlowClosed = num(stats1, "slow_closed") - num(stats0, "slow_closed")
	}
	r.mu.Lock()
	res.SlowCloseCodes = map[int]int{}
	for code, n := range r.slowCodes {
		res.SlowCloseCodes[code] = n
	}
	r.mu.Unlock()
	res.SlowClosedCode = res.SlowCloseCodes[r.ad.SlowCode()]
	for _, c := range slow {
		if !c.isClosed() {
			res.SlowStillOpen++
		}
	}
	res.P99BaselineMs, res.DelivBaselineS = base.P99Ms, base.DeliveredS
	if base.P99Ms > 0 && res.P99Ms > 1.1*base.P99Ms {
		res.Note += "healthy p99 moved more than 10% over the baseline; "
	}
	return res
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
