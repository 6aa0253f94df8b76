//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// soakConfig is one soak run.
type soakConfig struct {
	benchserver, redisServer, dir string
	redis                         bool // run the node on the Redis driver (a Redis of its own)
	conns, chans, subsPer         int
	churnFrac                     float64
	churnEvery, resubEvery        time.Duration
	rate                          float64
	duration, every, warmup       time.Duration
	dialConc                      int
}

func soakCmd(ctx context.Context, args []string) error {
	cfg := &soakConfig{}
	fs := flag.NewFlagSet("broadcast-chaos soak", flag.ContinueOnError)
	fs.StringVar(&cfg.benchserver, "benchserver", "", "path of the examples/benchserver binary (required)")
	fs.StringVar(&cfg.redisServer, "redis-server", "redis-server", "path of redis-server (with -redis)")
	fs.BoolVar(&cfg.redis, "redis", false, "run the node on the Redis driver, with a Redis of its own")
	fs.StringVar(&cfg.dir, "dir", os.TempDir(), "directory for the processes' logs and the pid file")
	fs.IntVar(&cfg.conns, "conns", 5000, "connections")
	fs.IntVar(&cfg.chans, "channels", 500, "channels")
	fs.IntVar(&cfg.subsPer, "subs-per-conn", 2, "channels each connection is subscribed to")
	fs.Float64Var(&cfg.churnFrac, "churn", 0.05, "fraction of the connections that reconnect every -churn-every")
	fs.DurationVar(&cfg.churnEvery, "churn-every", 5*time.Second, "mean lifetime of a churning connection (±50%)")
	fs.DurationVar(&cfg.resubEvery, "resub-every", 60*time.Second, "mean interval (±50%) at which a kept connection unsubscribes a channel and subscribes another")
	fs.Float64Var(&cfg.rate, "rate", 50, "publishes/s, each to a random channel")
	fs.DurationVar(&cfg.duration, "d", 30*time.Minute, "duration of the load")
	fs.DurationVar(&cfg.every, "every", 10*time.Second, "sampling interval")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "samples before this are left out of the slopes (default: 2m, or a tenth of -d if shorter)")
	fs.IntVar(&cfg.dialConc, "dial-concurrency", 50, "connection attempts in flight while ramping up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cfg.benchserver == "":
		return errors.New("-benchserver is required")
	case cfg.conns < 1 || cfg.conns > 9000:
		return errors.New("-conns: want 1..9000 (server and generator share the open-file limit's budget)")
	case cfg.subsPer < 1 || cfg.chans < 2*cfg.subsPer:
		return errors.New("want -subs-per-conn ≥ 1 and -channels ≥ 2 × -subs-per-conn")
	case cfg.rate <= 0 || cfg.rate > 2000 || cfg.churnFrac < 0 || cfg.churnFrac > 1:
		return errors.New("want 0 < -rate ≤ 2000 and 0 ≤ -churn ≤ 1")
	case cfg.duration <= 0 || cfg.duration > 24*time.Hour || cfg.every < time.Second:
		return errors.New("want 0 < -d ≤ 24h and -every ≥ 1s")
	case cfg.churnEvery < 100*time.Millisecond || cfg.resubEvery < 100*time.Millisecond:
		return errors.New("want -churn-every and -resub-every ≥ 100ms")
	}
	if cfg.warmup == 0 {
		cfg.warmup = min(2*time.Minute, cfg.duration/10)
	}
	return runSoak(ctx, cfg, os.Stdout)
}

func runSoak(ctx context.Context, cfg *soakConfig, out io.Writer) error {
	cs := &children{pidFile: filepath.Join(cfg.dir, "pids")}
	defer cs.stopAll()
	port, err := freePort()
	if err != nil {
		return err
	}
	redisPort := 0
	if cfg.redis {
		if redisPort, err = freePort(); err != nil {
			return err
		}
		r := cs.add(redisChild(cfg.redisServer, redisPort, filepath.Join(cfg.dir, "redis.log")))
		if err := cs.start(r); err != nil {
			return err
		}
		if err := waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", redisPort), 15*time.Second); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	node := cs.add(nodeChild("node", cfg.benchserver, addr, redisPort, filepath.Join(cfg.dir, "node.log"), ""))
	if err := cs.start(node); err != nil {
		return err
	}
	if err := waitTCP(ctx, addr, 15*time.Second); err != nil {
		return err
	}
	hc := httpClient()
	smp := &sampler{pid: node.pid(), api: "http://" + addr, hc: hc}
	start := time.Now()
	samples := []Sample{smp.sample(ctx, 0)}
	writeSampleHeader(out)
	writeSample(out, samples[0], nil)

	st := &soakStats{closes: map[int]int{}}
	l := &soakLoad{cfg: cfg, url: "ws://" + addr + "/ws", seqs: make([]atomic.Uint64, cfg.chans), stats: st, dialer: dialer()}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.duration)
	defer stopLoad()
	var wg sync.WaitGroup
	churners := int(float64(cfg.conns) * cfg.churnFrac)
	sem := make(chan struct{}, cfg.dialConc)
	for i := range cfg.conns {
		c := &soakConn{l: l, churner: i < churners, rng: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
		sem <- struct{}{} // ramp up cfg.dialConc connections at a time
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.runFirst(loadCtx, sem)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		soakPublish(loadCtx, hc, "http://"+addr, cfg, l)
	}()
	log.Printf("node %s (pid %d): %d connections (%d churning), publishing %.0f/s for %s", addr, node.pid(), cfg.conns, churners, cfg.rate, cfg.duration)

	tick := time.NewTicker(cfg.every)
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-tick.C:
			s := smp.sample(ctx, time.Since(start))
			samples = append(samples, s)
			writeSample(out, s, st)
		}
	}
	tick.Stop()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	sleep(ctx, 5*time.Second) // let the server finish closing
	idle := smp.sample(ctx, time.Since(start))
	writeSoak(out, cfg, samples, idle, st, churners)
	return nil
}

// runFirst is run with the first dial counted against the ramp-up limit.
func (c *soakConn) runFirst(ctx context.Context, sem chan struct{}) {
	released := false
	c.onLive = func() {
		if !released {
			released = true
			<-sem
		}
	}
	defer c.onLive()
	c.run(ctx)
}

// soakPublish publishes at cfg.rate to random channels, one request at a
// time so that each channel's sequences reach the server in order.
func soakPublish(ctx context.Context, hc *http.Client, api string, cfg *soakConfig, l *soakLoad) {
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	t := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ch := rng.IntN(cfg.chans)
		seq := l.seqs[ch].Add(1)
		if err := postPublish(ctx, hc, api, publishBody(soakChannel(ch), seq, time.Now())); err != nil {
			if ctx.Err() != nil {
				return
			}
			l.stats.pubErr.Add(1)
			l.stats.noteErr(reason(err))
			continue
		}
		l.stats.pubOK.Add(1)
	}
}

func writeSampleHeader(w io.Writer) {
	fmt.Fprintf(w, "%8s %9s %10s %7s %7s %7s %10s %7s\n", "t", "rss MiB", "goroutines", "fds", "conns", "gen", "delivered", "errors")
}

func writeSample(w io.Writer, s Sample, st *soakStats) {
	var live, deliv, errs int64
	if st != nil {
		live, deliv = st.live.Load(), st.delivered.Load()
		errs = st.gaps.Load() + st.dupLate.Load() + st.subErrors.Load() + st.pubErr.Load()
	}
	fmt.Fprintf(w, "%8s %9.1f %10d %7d %7d %7d %10d %7d\n", s.At.Round(time.Second), s.RSSMiB, s.Goroutines, s.FDs, s.Conns, live, deliv, errs)
}

// writeSoak prints the slopes, ranges and counters of a soak.
func writeSoak(w io.Writer, cfg *soakConfig, samples []Sample, idle Sample, st *soakStats, churners int) {
	sl := slopesPerHour(samples, cfg.warmup)
	fmt.Fprintf(w, "\nsoak: %s, %d connections (%d reconnecting every ~%s), %d channels × %d per connection, a kept connection moves one subscription every ~%s, %.0f publishes/s",
		cfg.duration, cfg.conns, churners, cfg.churnEvery, cfg.chans, cfg.subsPer, cfg.resubEvery, cfg.rate)
	if cfg.redis {
		fmt.Fprint(w, ", Redis driver")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  slopes per hour (least squares over %d samples from %s on): RSS %s MiB/h, goroutines %s/h, fds %s/h\n",
		sl.N, cfg.warmup, fmtSlope(sl.RSSMiB, sl.OKRSS), fmtSlope(sl.Goroutines, sl.OKGoroutines), fmtSlope(sl.FDs, sl.OKFD))
	var rss, gor, fds []float64
	for _, s := range samples {
		if s.At >= cfg.warmup {
			rss, gor, fds = append(rss, s.RSSMiB), append(gor, float64(s.Goroutines)), append(fds, float64(s.FDs))
		}
	}
	fmt.Fprintf(w, "  ranges over those samples: RSS %s MiB, goroutines %s, fds %s\n", rng(rss, "%.1f"), rng(gor, "%.0f"), rng(fds, "%.0f"))
	fmt.Fprintf(w, "  before the load: RSS %.1f MiB, goroutines %d, fds %d; 5 s after every client left: RSS %.1f MiB, goroutines %d, fds %d, connections %d\n",
		samples[0].RSSMiB, samples[0].Goroutines, samples[0].FDs, idle.RSSMiB, idle.Goroutines, idle.FDs, idle.Conns)
	fmt.Fprintf(w, "  load: %d connects (%d failed), %d planned closes, %d subscribes, %d unsubscribes, %d publishes acknowledged\n",
		st.connects.Load(), st.connectFail.Load(), st.planned.Load(), st.subs.Load(), st.unsubs.Load(), st.pubOK.Load())
	st.mu.Lock()
	closes := map[string]int{}
	for c, n := range st.closes {
		closes[fmt.Sprint(c)] = n
	}
	errs := strings.Join(st.errs, " | ")
	st.mu.Unlock()
	var cl []string
	for _, c := range sortedCounts(closes) {
		cl = append(cl, fmt.Sprintf("%d×%s", c.n, c.k))
	}
	fmt.Fprintf(w, "  delivery errors: %d missing (gaps in a subscription's sequence), %d duplicated or out of order, %d subscription errors, %d failed publishes, unexpected closes: %s\n",
		st.gaps.Load(), st.dupLate.Load(), st.subErrors.Load(), st.pubErr.Load(), orNone(strings.Join(cl, ", ")))
	fmt.Fprintf(w, "  delivered %d (plus %d from before a subscription was confirmed and %d after an unsubscribe, not counted)\n",
		st.delivered.Load(), st.early.Load(), st.stray.Load())
	if errs != "" {
		fmt.Fprintf(w, "  first errors: %.600s\n", errs)
	}
}

func fmtSlope(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f", v)
}

func rng(xs []float64, f string) string {
	if len(xs) == 0 {
		return "n/a"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf(f+"–"+f, s[0], s[len(s)-1])
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
