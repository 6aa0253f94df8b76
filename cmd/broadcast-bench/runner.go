//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Recorder collects the latencies (µs) and event count of one class
// during one measurement window.
type Recorder struct {
	hist   Histogram
	events atomic.Uint64
}

// runner holds the connections and counters of one run.
type runner struct {
	cfg     *Config
	ad      Adapter
	topo    *Topology
	wire    []string
	seqs    []atomic.Uint64 // last sequence per (publisher, channel)
	rec     [2]atomic.Pointer[Recorder]
	url     *url.URL
	reurl   *url.URL // s5: where subscribers reconnect (-reconnect-url; default url)
	pollers []*poller
	hc      *http.Client
	src     atomic.Uint64
	nextID  atomic.Uint64
	// nextConn numbers connections for the pollers.
	nextConn atomic.Int32

	mu        sync.Mutex
	live      []*client // current connection of each slot
	all       []*client // every connection ever made, for tallies
	closes    map[int]int
	slowCodes map[int]int

	unexpected, frameErrors, badPayload, wrongChannel atomic.Uint64
	acks, streamAcks                                  atomic.Uint64 // subscription acks; those with a stream position (history)
	redisErr                                          atomic.Bool   // a -redis-addr INFO failed (logged once)
	natsErr                                           atomic.Bool   // a -nats-monitor /varz failed (logged once)
	errSamples                                        []string
	closeWhy                                          []string // why unexpected closes happened, first few
}

func newRunner(ctx context.Context, cfg *Config, ad Adapter) (*runner, error) {
	r := &runner{cfg: cfg, ad: ad, closes: map[int]int{}, slowCodes: map[int]int{}}
	u, err := parseWS(cfg.URL)
	if err != nil {
		return nil, err
	}
	r.url, r.reurl = u, u
	if cfg.ReconnectURL != "" {
		if r.reurl, err = parseWS(cfg.ReconnectURL); err != nil {
			return nil, err
		}
	}
	for range max(1, runtime.GOMAXPROCS(0)) {
		p, err := newPoller(cfg.Clock == "kernel")
		if err != nil {
			return nil, fmt.Errorf("epoll: %w", err)
		}
		go p.run(ctx)
		r.pollers = append(r.pollers, p)
	}
	r.topo = newTopology(cfg.Scenario, cfg.Conns, cfg.PersonalP)
	for _, n := range r.topo.Names {
		r.wire = append(r.wire, ad.WireChannel(n))
	}
	r.seqs = make([]atomic.Uint64, cfg.Publishers*len(r.topo.Names))
	r.live = make([]*client, cfg.Conns)
	for i := range r.rec {
		r.rec[i].Store(&Recorder{})
	}
	tr := &http.Transport{
		DialContext:         r.dialTCP,
		MaxIdleConnsPerHost: 2 * cfg.Publishers,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	r.hc = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	return r, nil
}

// parseWS parses a ws:// URL, with the port made explicit.
func parseWS(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("%s: only ws:// is supported", raw)
	}
	if u.Port() == "" {
		u.Host += ":80"
	}
	return u, nil
}

// dialTCP spreads connections over the source addresses, so that no
// single address runs out of ephemeral ports.
func (r *runner) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	return r.dialBuf(ctx, network, addr, 0)
}

// dialBuf is dialTCP with a receive buffer size set before connecting
// (so the window is sized by it); 0 keeps the system's.
func (r *runner) dialBuf(ctx context.Context, network, addr string, rcvbuf int) (net.Conn, error) {
	ip := r.cfg.Sources[r.src.Add(1)%uint64(len(r.cfg.Sources))]
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	return d.DialContext(ctx, network, addr)
}

func (r *runner) lastSeq(pub int, ch uint32) uint64 {
	return r.seqs[pub*len(r.topo.Names)+int(ch)].Load()
}

func (r *runner) noteError(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errSamples) < 5 {
		r.errSamples = append(r.errSamples, s)
	}
}

func (r *runner) onClose(c *client, code int) {
	if c.planned.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.class == classSlow {
		r.slowCodes[code]++
		return
	}
	r.unexpected.Add(1)
	r.closes[code]++
	if len(r.closeWhy) < 3 {
		c.mu.Lock()
		r.closeWhy = append(r.closeWhy, c.firstErr)
		c.mu.Unlock()
	}
}

// classOf puts a fraction SlowFrac of the slots, spread evenly, in the
// slow class.
func (r *runner) classOf(slot int) int {
	f := r.cfg.SlowFrac
	if f > 0 && int(float64(slot+1)*f) > int(float64(slot)*f) {
		return classSlow
	}
	return classMain
}

// connectSlots opens a connection for each slot, DialConc at a time. It
// returns the number that failed.
func (r *runner) connectSlots(ctx context.Context, slots []int) int {
	return r.dialEach(ctx, len(slots), "connect", func(i int) (int, error) { return slots[i], r.connectSlot(ctx, slots[i]) })
}

// dialEach runs dial(0) … dial(n-1), DialConc at a time, logging the
// first three failures (with the slot dial returns), and returns the
// number that failed.
func (r *runner) dialEach(ctx context.Context, n int, what string, dial func(i int) (slot int, err error)) int {
	var failed atomic.Int64
	sem := make(chan struct{}, r.cfg.DialConc)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if slot, err := dial(i); err != nil && failed.Add(1) <= 3 {
				log.Printf("%s slot %d: %v", what, slot, err)
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}

func (r *runner) connectSlot(ctx context.Context, slot int) error {
	c := newClient(r, slot, r.classOf(slot))
	r.mu.Lock()
	r.live[slot] = c
	r.all = append(r.all, c)
	r.mu.Unlock()
	return c.open(ctx, r.url)
}

// reconnectClosed reopens the main-class slots whose connection closed (a
// failed ramp step may have cost some), and returns how many it reopened.
func (r *runner) reconnectClosed(ctx context.Context) int {
	var slots []int
	r.mu.Lock()
	for i, c := range r.live {
		if c == nil || (c.class == classMain && c.isClosed()) {
			slots = append(slots, i)
		}
	}
	r.mu.Unlock()
	if len(slots) > 0 {
		r.connectSlots(ctx, slots)
	}
	return len(slots)
}

// churn closes and reopens random main-class connections at rate per
// second until ctx ends. It returns reconnects done and failed.
func (r *runner) churn(ctx context.Context, rate float64) (done, failed int64) {
	if rate <= 0 {
		return 0, 0
	}
	var nDone, nFail atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.DialConc)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const tick = 20 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	credit := 0.0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			credit += rate * tick.Seconds()
			for ; credit >= 1; credit-- {
				slot := rng.IntN(r.cfg.Conns)
				r.mu.Lock()
				old := r.live[slot]
				r.mu.Unlock()
				if old == nil || old.class != classMain {
					continue
				}
				select {
				case sem <- struct{}{}:
				default:
					nFail.Add(1) // reconnects are not keeping up
					continue
				}
				old.close()
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if err := r.connectSlot(context.WithoutCancel(ctx), slot); err != nil {
						nFail.Add(1)
						return
					}
					nDone.Add(1)
				}()
			}
		}
	}
	wg.Wait()
	return nDone.Load(), nFail.Load()
}

// tally sums the stream counters of every connection of class.
func (r *runner) tally(class int) Tally {
	r.mu.Lock()
	all := append([]*client(nil), r.all...)
	r.mu.Unlock()
	var t Tally
	for _, c := range all {
		if c.class == class {
			c.tally(&t)
		}
	}
	return t
}

// liveClients returns the current connections of class.
func (r *runner) liveClients(class int) []*client {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*client
	for _, c := range r.live {
		if c != nil && c.class == class {
			out = append(out, c)
		}
	}
	return out
}

// closeAll ends every connection on purpose.
func (r *runner) closeAll() {
	r.mu.Lock()
	live := append([]*client(nil), r.live...)
	r.mu.Unlock()
	for _, c := range live {
		if c != nil {
			c.close()
		}
	}
}

func (r *runner) describeErrors() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := ""
	if len(r.closes) > 0 {
		s += fmt.Sprintf("unexpected close codes %v (e.g. %q); ", r.closes, r.closeWhy)
	}
	if len(r.errSamples) > 0 {
		s += fmt.Sprintf("server errors e.g. %.200s", r.errSamples[0])
	}
	return s
}
