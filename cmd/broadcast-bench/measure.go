//go:build linux

package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"
)

const mib = 1 << 20

// window is the state at the start of a measurement.
type window struct {
	start      time.Time
	tally      Tally
	srv, gen   ProcSample
	unexpected uint64
	wrong      uint64
	stats      map[string]any
	redis      map[string]float64 // INFO of -redis-addr; nil without
	nats       map[string]float64 // /varz of -nats-monitor; nil without
	rec        *Recorder
}

// begin starts a measurement: fresh recorders, counters snapshotted.
func (r *runner) begin(ctx context.Context) *window {
	w := &window{rec: &Recorder{}}
	r.rec[classMain].Store(w.rec)
	r.rec[classSlow].Store(&Recorder{})
	w.tally = r.tally(classMain)
	w.unexpected, w.wrong = r.unexpected.Load(), r.wrongChannel.Load()
	w.stats = r.ad.ServerStats(ctx, r.hc)
	w.redis, w.nats = r.redisSnapshot(), r.natsSnapshot()
	w.srv, w.gen = readProcs(r.cfg.PIDs), readProc(os.Getpid())
	w.start = time.Now()
	return w
}

// drain waits until every expected message since w began has arrived, or
// the drain time is over.
func (r *runner) drain(w *window) {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) {
		if r.tally(classMain).Sub(w.tally).Missing() == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// end closes a measurement of a load phase that published for pubTime.
func (r *runner) end(ctx context.Context, w *window, phase string, rate float64, pubTime time.Duration, ps PubStats) *Result {
	srv, gen := readProcs(r.cfg.PIDs), readProc(os.Getpid())
	rd, nv := r.redisSnapshot(), r.natsSnapshot()
	t := r.tally(classMain).Sub(w.tally)
	res := r.base(phase)
	res.Seconds = srv.At.Sub(w.start).Seconds()
	res.OfferedPub = rate
	res.OfferedDeliv = rate * r.topo.Fanout * r.mainShare()
	res.Published, res.PubErrors = ps.Published, ps.Errors
	res.PubLagMaxMs = ms(ps.MaxLag)
	res.Expected = t.Expected
	res.Delivered = w.rec.events.Load()
	res.DeliveredS = float64(res.Delivered) / pubTime.Seconds()
	res.Missing, res.Duplicated, res.OutOfOrder, res.Early = t.Missing(), t.Dup, t.Late, t.Early
	res.Unexpected = r.unexpected.Load() - w.unexpected
	h := &w.rec.hist
	res.P50Ms, res.P99Ms = usMs(h.Quantile(0.50)), usMs(h.Quantile(0.99))
	res.P999Ms, res.MaxMs = usMs(h.Quantile(0.999)), usMs(h.Max())
	r.resources(res, w.srv, srv, w.gen, gen)
	redisPerPublish(res, w.redis, rd, ps.Published)
	natsPerPublish(res, w.nats, nv, ps.Published)
	var all uint64
	for i := range r.rec {
		all += r.rec[i].Load().events.Load()
	}
	if all > 0 && srv.OK {
		res.CPUPerDeliv = float64(srv.CPU-w.srv.CPU) / float64(time.Microsecond) / float64(all)
	}
	if s := r.ad.ServerStats(ctx, r.hc); s != nil {
		res.ServerSlowClosed = num(s, "slow_closed") - num(w.stats, "slow_closed")
	}
	wrong := r.wrongChannel.Load() - w.wrong
	pass := res.P99Ms <= ms(r.cfg.P99Limit) && res.Missing == 0 && res.Duplicated == 0 &&
		res.OutOfOrder == 0 && res.Unexpected == 0 && res.PubErrors == 0 && wrong == 0 && res.Delivered > 0
	res.Pass = &pass
	if wrong > 0 {
		res.Note += fmt.Sprintf("%d events on a channel the connection did not subscribe; ", wrong)
	}
	if res.Unexpected > 0 || res.PubErrors > 0 {
		res.Note += r.describeErrors()
	}
	res.Acks, res.StreamAcks = r.acks.Load(), r.streamAcks.Load()
	switch {
	case r.cfg.History != "" && res.StreamAcks == 0:
		res.Note += "-history was given but no subscription carried a stream position: the server keeps no history for these channels; "
	case r.cfg.History != "" && res.StreamAcks < res.Acks:
		res.Note += fmt.Sprintf("only %d of %d subscriptions carried a stream position; ", res.StreamAcks, res.Acks)
	case r.cfg.History == "" && res.StreamAcks > 0:
		res.History = "on (seen in the acknowledgements, rules not given)"
	}
	if w.redis == nil && r.cfg.RedisAddr != "" {
		res.Note += "Redis INFO failed; "
	}
	if w.nats == nil && r.cfg.NATSMonitor != "" {
		res.Note += "NATS /varz failed; "
	}
	if res.GenCPUPct >= 90 {
		res.Note += "generator CPU-bound: latency and rate include the generator's own delay; "
	}
	return res
}

// redisSnapshot reads -redis-addr's INFO, or returns nil (no address, or
// it failed: logged once).
func (r *runner) redisSnapshot() map[string]float64 {
	if r.cfg.RedisAddr == "" {
		return nil
	}
	m, err := redisInfo(r.cfg.RedisAddr)
	if err != nil && r.redisErr.CompareAndSwap(false, true) {
		log.Printf("redis INFO at %s: %v", r.cfg.RedisAddr, err)
	}
	return m
}

// natsSnapshot reads -nats-monitor's /varz, or returns nil (no address,
// or it failed: logged once).
func (r *runner) natsSnapshot() map[string]float64 {
	if r.cfg.NATSMonitor == "" {
		return nil
	}
	m, err := natsVarz(r.hc, r.cfg.NATSMonitor, r.cfg.NATSPID)
	if err != nil && r.natsErr.CompareAndSwap(false, true) {
		log.Printf("nats /varz at %s: %v", r.cfg.NATSMonitor, err)
	}
	return m
}

// mainShare is the fraction of subscriptions in the measured class.
func (r *runner) mainShare() float64 {
	return 1 - r.cfg.SlowFrac
}

func (r *runner) base(phase string) *Result {
	subs := 0
	for i := 0; i < r.cfg.Conns; i++ {
		if r.classOf(i) == classMain {
			subs += len(r.topo.Subs(i))
		}
	}
	return &Result{Target: r.ad.Name(), Scenario: r.cfg.Scenario, Phase: phase, Conns: r.cfg.Conns, Subscriptions: subs, Clock: r.cfg.Clock, History: r.cfg.History}
}

func (r *runner) resources(res *Result, s0, s1, g0, g1 ProcSample) {
	wall := s1.At.Sub(s0.At).Seconds()
	if s0.OK && s1.OK && wall > 0 {
		res.ServerCPUs = (s1.CPU - s0.CPU).Seconds()
		res.ServerCPUPct = 100 * res.ServerCPUs / wall
		res.ServerRSSMiB = float64(s1.RSS) / mib
	}
	if g0.OK && g1.OK && wall > 0 {
		res.GenCPUPct = 100 * (g1.CPU - g0.CPU).Seconds() / wall
	}
}

// step publishes at rate for d (with churn if configured), drains, and
// measures.
func (r *runner) step(ctx context.Context, phase string, rate float64, d time.Duration) *Result {
	w := r.begin(ctx)
	cctx, stop := context.WithCancel(ctx)
	var churned, churnFail int64
	var wg sync.WaitGroup
	if r.cfg.Churn > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); churned, churnFail = r.churn(cctx, r.cfg.Churn) }()
	}
	t0 := time.Now()
	ps := r.publish(ctx, rate, d)
	pubTime := time.Since(t0)
	stop()
	wg.Wait()
	r.drain(w)
	res := r.end(ctx, w, phase, rate, pubTime, ps)
	res.Churned, res.ChurnFailed = churned, churnFail
	return res
}

// sustained reports whether a step kept up with its offered rate: nothing
// lost or closed, at least 97% of the offered deliveries received in the
// publishing time, p99 under a second, and the server not saturated.
func sustained(res *Result) bool {
	return res.Missing == 0 && res.Duplicated == 0 && res.OutOfOrder == 0 && res.Unexpected == 0 &&
		res.PubErrors == 0 && res.DeliveredS >= 0.97*res.OfferedDeliv && res.P99Ms < 1000 &&
		(res.ServerCPUPct == 0 || res.ServerCPUPct < 95)
}

// ramp sweeps the rate geometrically from RateMin while the server keeps
// up (see sustained), then bisects between the highest step that passed
// the p99 criterion and the failing step above it. emit receives every
// step; the summary repeats the best passing step and names the highest
// sustained rate.
func (r *runner) ramp(ctx context.Context, emit func(*Result)) *Result {
	var best, top *Result
	lo, hi := 0.0, 0.0 // highest pass; the failing rate just above it
	try := func(rate float64) *Result {
		if n := r.reconnectClosed(ctx); n > 0 {
			log.Printf("reopened %d connections before the step", n)
		}
		res := r.step(ctx, "step", rate, r.cfg.Step)
		emit(res)
		if *res.Pass && rate > lo {
			lo, best = rate, res
			if hi <= lo {
				hi = 0
			}
		} else if !*res.Pass && rate > lo && (hi == 0 || rate < hi) {
			hi = rate
		}
		if sustained(res) && (top == nil || rate > top.OfferedPub) {
			top = res
		}
		if !*res.Pass {
			time.Sleep(2 * time.Second) // let a backlog clear
		}
		return res
	}
	for rate := r.cfg.RateMin; ctx.Err() == nil; rate = min(rate*r.cfg.RampFactor, r.cfg.RateMax) {
		if res := try(rate); !sustained(res) || rate >= r.cfg.RateMax {
			break
		}
	}
	for i := 0; i < r.cfg.Refine && lo > 0 && hi > lo && ctx.Err() == nil; i++ {
		mid := roundRate((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		try(mid)
	}
	sum := r.base("ramp")
	if best != nil {
		*sum = *best
		sum.MaxPassRate = lo
		sum.MaxPassDeliv = best.DeliveredS
	} else {
		f := false
		sum.Pass = &f
		sum.Note = fmt.Sprintf("no step had p99 <= %s without loss (lowest %.0f/s); ", r.cfg.P99Limit, r.cfg.RateMin)
	}
	sum.Phase = "ramp"
	if top != nil {
		sum.MaxSustained = top.OfferedPub
		sum.MaxSustainedP99 = top.P99Ms
		sum.MaxSustainedCPU = top.CPUPerDeliv
		sum.Note += fmt.Sprintf("highest sustained rate %.0f/s (p99 %.1f ms, %.2f µs/delivery); ", top.OfferedPub, top.P99Ms, top.CPUPerDeliv)
	}
	if hi > 0 && lo > 0 {
		sum.Note += fmt.Sprintf("first failing rate above the best: %.0f/s; ", hi)
	} else if best != nil && lo >= r.cfg.RateMax {
		sum.Note += "passed at -rate-max; the limit is higher; "
	}
	return sum
}

func roundRate(x float64) float64 {
	switch {
	case x >= 1000:
		return float64(int(x/100)) * 100
	case x >= 100:
		return float64(int(x/10)) * 10
	}
	return float64(int(x))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func usMs(us uint64) float64     { return float64(us) / 1000 }

func num(m map[string]any, k string) float64 {
	v, _ := m[k].(float64)
	return v
}
