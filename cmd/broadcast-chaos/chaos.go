//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Faults the chaos command injects.
var faults = map[string]string{
	"redis-stop":    "Redis SIGSTOPped for HOLD, then SIGCONT",
	"redis-restart": "Redis SIGKILLed, restarted empty on the same port after HOLD",
	"node-restart":  "node B (the subscribers' node) SIGKILLed, restarted on the same port after HOLD",
}

// chaosConfig is one chaos run.
type chaosConfig struct {
	fault       string
	benchserver string // path of the benchserver binary
	redisServer string // path of redis-server
	dir         string // logs and the pid file
	subs, chans int
	rate        float64
	before      time.Duration // publishing before the fault
	hold        time.Duration // fault duration (stop) or downtime before the restart
	after       time.Duration // publishing after the fault ended
	drain       time.Duration // waiting for stragglers after the last publish
	history     string        // BROADCAST_HISTORY of the nodes ("": none)
}

// cluster is the Redis and the two nodes of a run.
type cluster struct {
	cs           *children
	redis, a, b  *child
	redisAddr    string
	apiA, wsB    string
	nodeA, nodeB string
}

func startCluster(ctx context.Context, cfg *chaosConfig, cs *children) (*cluster, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	c := &cluster{cs: cs, redisAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		nodeA: fmt.Sprintf("127.0.0.1:%d", ports[1]), nodeB: fmt.Sprintf("127.0.0.1:%d", ports[2])}
	c.apiA, c.wsB = "http://"+c.nodeA, "ws://"+c.nodeB+"/ws"
	c.redis = cs.add(redisChild(cfg.redisServer, ports[0], filepath.Join(cfg.dir, "redis.log")))
	c.a = cs.add(nodeChild("node A", cfg.benchserver, c.nodeA, ports[0], filepath.Join(cfg.dir, "node-a.log"), cfg.history))
	c.b = cs.add(nodeChild("node B", cfg.benchserver, c.nodeB, ports[0], filepath.Join(cfg.dir, "node-b.log"), cfg.history))
	if err := c.startAndWait(ctx, c.redis, c.redisAddr); err != nil {
		return nil, err
	}
	for _, n := range []struct {
		ch   *child
		addr string
	}{{c.a, c.nodeA}, {c.b, c.nodeB}} {
		if err := c.startAndWait(ctx, n.ch, n.addr); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) startAndWait(ctx context.Context, ch *child, addr string) error {
	if err := c.cs.start(ch); err != nil {
		return err
	}
	if err := waitTCP(ctx, addr, 15*time.Second); err != nil {
		return fmt.Errorf("%s: %w (see %s)", ch.name, err, ch.log)
	}
	return nil
}

// inject applies the fault and returns when it is over: the process is
// running again and accepts connections.
func (c *cluster) inject(ctx context.Context, fault string, hold time.Duration) (time.Time, error) {
	switch fault {
	case "redis-stop":
		if err := c.redis.signal(syscall.SIGSTOP); err != nil {
			return time.Time{}, err
		}
		sleep(ctx, hold)
		return time.Now(), c.redis.signal(syscall.SIGCONT)
	case "redis-restart":
		c.redis.kill()
		sleep(ctx, hold)
		err := c.startAndWait(ctx, c.redis, c.redisAddr)
		return time.Now(), err
	case "node-restart":
		c.b.kill()
		sleep(ctx, hold)
		err := c.startAndWait(ctx, c.b, c.nodeB)
		return time.Now(), err
	}
	return time.Time{}, fmt.Errorf("unknown fault %q", fault)
}

// runChaos runs one fault and writes its figures to out.
func runChaos(ctx context.Context, cfg *chaosConfig, out io.Writer) error {
	cs := &children{pidFile: filepath.Join(cfg.dir, "pids")}
	defer cs.stopAll()
	cl, err := startCluster(ctx, cfg, cs)
	if err != nil {
		return err
	}
	log.Printf("redis %s (pid %d), node A %s (pid %d), node B %s (pid %d)",
		cl.redisAddr, cl.redis.pid(), cl.nodeA, cl.a.pid(), cl.nodeB, cl.b.pid())

	chans := make([]string, cfg.chans)
	for i := range chans {
		chans[i] = "chaos." + strconv.Itoa(i)
	}
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	subs := make([]*subscriber, cfg.subs)
	ready := make(chan error, cfg.subs)
	var wg sync.WaitGroup
	for i := range subs {
		subs[i] = &subscriber{url: cl.wsB, channel: chans[i%cfg.chans]}
		subs[i].rec.Chan = i % cfg.chans
		wg.Add(1)
		go func() {
			defer wg.Done()
			subs[i].run(subCtx, ready)
		}()
	}
	failed := 0
	for range subs {
		var err error
		select {
		case err = <-ready:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			if failed++; failed == 1 {
				log.Printf("subscriber: %v", err)
			}
		}
	}
	if failed > 0 {
		stopSubs()
		wg.Wait()
		return fmt.Errorf("%d of %d subscribers could not subscribe", failed, cfg.subs)
	}
	log.Printf("%d subscribers on node B over %d channels", cfg.subs, cfg.chans)
	sleep(ctx, time.Second)

	recs := make([]PubRecord, int(cfg.rate*(cfg.before+cfg.hold+cfg.after+time.Minute).Seconds()))
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	scheduled := make(chan int, 1)
	go func() { scheduled <- publishOpenLoop(pubCtx, httpClient(), cl.apiA, cfg.rate, chans, recs) }()

	sleep(ctx, cfg.before)
	faultStart := time.Now()
	log.Printf("fault %s", cfg.fault)
	faultEnd, err := cl.inject(ctx, cfg.fault, cfg.hold)
	if err != nil {
		return fmt.Errorf("fault %s: %w", cfg.fault, err)
	}
	log.Printf("fault over after %s; publishing %s more", faultEnd.Sub(faultStart).Round(time.Millisecond), cfg.after)
	sleep(ctx, cfg.after)
	stopPub()
	n := <-scheduled
	sleep(ctx, cfg.drain)
	stopSubs()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	records := make([]SubRecord, len(subs))
	for i, s := range subs {
		records[i] = s.record()
	}
	sum := Account(recs[:n], records, faultStart, faultEnd)
	desc := strings.ReplaceAll(faults[cfg.fault], "HOLD", cfg.hold.String())
	writeChaos(out, cfg, desc, faultEnd.Sub(faultStart), sum)
	return nil
}

// writeChaos prints the figures of one run.
func writeChaos(w io.Writer, cfg *chaosConfig, desc string, took time.Duration, s Summary) {
	fmt.Fprintf(w, "fault %s: %s (fault lasted %s)\n", cfg.fault, desc, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  setup: %d subscribers on node B over %d channels; publisher on node A at %.0f/s; %s before, %s after the fault\n",
		cfg.subs, cfg.chans, cfg.rate, cfg.before, cfg.after)
	fmt.Fprintf(w, "  publishes: %d sent, %d acknowledged, %d failed\n", s.Sent, s.Acked, s.Failed)
	for _, e := range sortedCounts(s.Errors) {
		fmt.Fprintf(w, "    %6d × %s\n", e.n, e.k)
	}
	fmt.Fprintf(w, "  acknowledged but lost, per subscriber: %s (total %d; %d subscribers lost some; %d of the losses at subscribers that saw no close)\n",
		s.Lost, s.LostTotal, s.SubsWithLoss, s.LostSilent)
	fmt.Fprintf(w, "  acknowledged publishes that reached no subscriber: %d", s.AckedReachNone)
	if s.AckedReachNone > 0 {
		fmt.Fprintf(w, " (sent from %s to %s after the fault's start)", fmtOffset(s.NoneFrom), fmtOffset(s.NoneTo))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  duplicated deliveries: %d; delivered although the publish failed: %d\n", s.Duplicated, s.UnackedDelivery)
	first := "none"
	if s.FirstAfter >= 0 {
		first = "+" + s.FirstAfter.Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "  time to resume (from the fault's end): first delivery %s; first delivery of a publish sent after the end, per subscriber: median +%s, max +%s; %d subscribers never resumed\n",
		first, s.ResumeMedian.Round(time.Millisecond), s.ResumeMax.Round(time.Millisecond), s.NeverResumed)
	codes := "none"
	if len(s.CloseCodes) > 0 {
		var parts []string
		for _, c := range sortedKeys(s.CloseCodes) {
			parts = append(parts, fmt.Sprintf("%d×%d", s.CloseCodes[c], c))
		}
		codes = strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "  subscribers that saw a close: %d (connections closed, by code: %s); deliveries after a reconnect: %d\n",
		s.SubsClosed, codes, s.AfterReconn)
	if cfg.history != "" {
		fmt.Fprintf(w, "  history %s: resubscribes with a since recovered %d, not recovered %d\n", cfg.history, s.Recovered, s.NotRecovered)
	}
	fmt.Fprintf(w, "| %s | %d | %d | %d | %d / %d / %d | %d (%d) | %d | %d | %s | %s / %s | %d (%s) |\n",
		cfg.fault, s.Sent, s.Acked, s.Failed, s.Lost.Min, s.Lost.Median, s.Lost.Max, s.LostTotal, s.LostSilent, s.AckedReachNone, s.Duplicated,
		first, s.ResumeMedian.Round(time.Millisecond), s.ResumeMax.Round(time.Millisecond), s.SubsClosed, codes)
}

// tableHeader heads the one-line rows writeChaos ends with.
const tableHeader = `| fault | sent | acked | failed | acked-but-lost per subscriber min / median / max | total (at subscribers that saw no close) | acked, reached no subscriber | duplicated | first delivery after the fault | resumed, median / max subscriber | subscribers closed (codes) |
|---|---|---|---|---|---|---|---|---|---|---|`

func fmtOffset(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).Round(time.Millisecond).String()
	}
	return "+" + d.Round(time.Millisecond).String()
}

type count struct {
	k string
	n int
}

func sortedCounts(m map[string]int) []count {
	var out []count
	for k, n := range m {
		out = append(out, count{k, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || out[i].n == out[j].n && out[i].k < out[j].k })
	return out
}

func sortedKeys(m map[int]int) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
