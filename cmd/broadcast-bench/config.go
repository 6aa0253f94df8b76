//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is everything a run needs; flags fill it and a scenario preset
// supplies what the flags leave unset.
type Config struct {
	Target   string // native | pusher | centrifugo
	Scenario string // s1..s5
	Mode     string // idle | fixed | ramp | recovery
	URL      string // WebSocket URL
	API      string // HTTP base URL for publishing
	APIKey   string // centrifugo http_api.key
	PIDs     []int  // server processes (every node), for CPU and RSS summed

	Conns      int           // connections
	Rate       float64       // publishes/s in fixed mode
	RateMin    float64       // first ramp step
	RateMax    float64       // last ramp step
	RampFactor float64       // geometric step
	Refine     int           // bisection steps after the first failure
	Step       time.Duration // publishing time of a ramp step or fixed phase
	Drain      time.Duration // wait for stragglers after publishing stops
	Idle       time.Duration // S1 idle window
	Settle     time.Duration // pause before measuring memory
	Payload    int           // data bytes per message
	Publishers int           // concurrent publishing goroutines
	Batch      int           // max messages per publish request
	Churn      float64       // reconnects/s during publishing (S3)
	SlowFrac   float64       // fraction of subscribers that stop reading (S4)
	SlowPhase  time.Duration // S4: publishing time while the slow ones do not read
	SlowRcvBuf int           // S4: SO_RCVBUF of the slow readers' sockets (0: system default)
	P99Limit   time.Duration // ramp pass criterion
	Sources    []net.IP      // local addresses to dial from
	DialConc   int           // dials in flight
	MaxTime    time.Duration // hard bound on the whole run
	PersonalP  float64       // S3: share of publishes to personal channels
	CPUProfile string        // write the generator's CPU profile here
	Clock      string        // kernel | user: when a delivery counts as received

	// Channel history.
	History      string        // the server's history rules as given (BROADCAST_HISTORY form); "" off
	Missed       int           // S5: publishes while the subscribers are away
	LiveRecovery bool          // S5: keep publishing at -rate while they reconnect
	ReconnectURL string        // S5: WebSocket URL to reconnect to (default -url; another node on Redis)
	RecoverWait  time.Duration // S5: max wait for every subscriber to recover
	RedisAddr    string        // host:port of the server's Redis, for INFO commandstats ("" off)
	NATSMonitor  string        // host:port of the server's NATS monitoring endpoint, for /varz ("" off)
	NATSPID      int           // nats-server process, for its CPU seconds (0 off)
}

// preset is the shape of a scenario.
type preset struct {
	mode    string
	conns   int
	rate    float64
	rateMin float64
	rateMax float64
	churn   float64
	slow    float64
	phase   time.Duration // S4: slow phase
}

var presets = map[string]preset{
	"s1": {mode: "idle", conns: 15000},
	"s2": {mode: "ramp", conns: 2000, rate: 100, rateMin: 5, rateMax: 2000},
	"s3": {mode: "ramp", conns: 15000, rate: 5000, rateMin: 500, rateMax: 40000, churn: 200},
	"s4": {mode: "fixed", conns: 2000, rate: 10, slow: 0.1, phase: 60 * time.Second},
	// s4o: fewer subscribers at a rate that pushes the slow readers past
	// the kernel's send buffer (~4 MB per socket on loopback) and the
	// server's 1 MiB queue in about 30 s, before a 60 s read or pong
	// timeout would close them, so that slow-consumer closes happen.
	"s4o": {mode: "fixed", conns: 100, rate: 800, slow: 0.1, phase: 50 * time.Second},
	// s5: recovery. 1,000 subscribers of a channel with history go
	// away, -missed publications later come back with their last
	// position and must get exactly what they missed.
	"s5": {mode: "recovery", conns: 1000, rate: 500},
}

// parseFlags fills a Config from args.
func parseFlags(args []string) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("broadcast-bench", flag.ContinueOnError)
	fs.StringVar(&c.Target, "target", "native", "server protocol: native | pusher (our server's Pusher endpoint) | centrifugo")
	fs.StringVar(&c.Scenario, "scenario", "s2", "s1 idle | s2 one channel | s3 many channels | s4 slow readers | s4o slow readers overflowing | s5 recovery from history")
	fs.StringVar(&c.Mode, "mode", "", "idle | fixed | ramp | recovery (default: the scenario's)")
	fs.StringVar(&c.URL, "url", "", "WebSocket URL (default per target)")
	fs.StringVar(&c.API, "api", "", "HTTP base URL for publishing (default per target)")
	fs.StringVar(&c.APIKey, "api-key", "bench-api-key", "Centrifugo http_api.key")
	fs.Func("server-pid", "server process id, for CPU seconds and RSS from /proc; a comma-separated list (the nodes of a cluster) sums them", func(s string) error {
		c.PIDs = nil
		for _, f := range strings.Split(s, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || pid <= 0 {
				return fmt.Errorf("%q is not a process id", f)
			}
			c.PIDs = append(c.PIDs, pid)
		}
		return nil
	})
	fs.IntVar(&c.Conns, "conns", 0, "connections (default per scenario)")
	fs.Float64Var(&c.Rate, "rate", 0, "publishes/s in fixed mode (default per scenario)")
	fs.Float64Var(&c.RateMin, "rate-min", 0, "first ramp rate, publishes/s")
	fs.Float64Var(&c.RateMax, "rate-max", 0, "highest ramp rate, publishes/s")
	fs.Float64Var(&c.RampFactor, "ramp-factor", 2, "ramp: rate multiplier between steps")
	fs.IntVar(&c.Refine, "refine", 2, "ramp: bisection steps after the first failing rate")
	fs.DurationVar(&c.Step, "step", 8*time.Second, "publishing time per ramp step or fixed phase")
	fs.DurationVar(&c.Drain, "drain", 4*time.Second, "max wait for in-flight deliveries after a step")
	fs.DurationVar(&c.Idle, "idle", 60*time.Second, "S1: idle window for CPU")
	fs.DurationVar(&c.Settle, "settle", 5*time.Second, "pause before memory is read")
	fs.IntVar(&c.Payload, "payload", 150, "bytes of event data (100..4096)")
	fs.IntVar(&c.Publishers, "publishers", 8, "concurrent publishing goroutines")
	fs.IntVar(&c.Batch, "batch", 64, "max messages per publish request (1 = one per request)")
	fs.Float64Var(&c.Churn, "churn", -1, "reconnects/s while publishing (default per scenario)")
	fs.Float64Var(&c.SlowFrac, "slow", -1, "fraction of subscribers that stop reading (default per scenario)")
	fs.IntVar(&c.SlowRcvBuf, "slow-rcvbuf", 0, "S4: SO_RCVBUF of the slow readers' sockets (0: system default)")
	fs.DurationVar(&c.SlowPhase, "slow-phase", 0, "S4: publishing time while the slow readers do not read (default per scenario)")
	fs.DurationVar(&c.P99Limit, "p99", 50*time.Millisecond, "ramp: p99 bound of a passing step")
	src := fs.String("src", "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4", "loopback source addresses to spread connections over")
	fs.IntVar(&c.DialConc, "dial-concurrency", 64, "connection attempts in flight")
	fs.DurationVar(&c.MaxTime, "max-time", 10*time.Minute, "hard bound on the whole run")
	fs.Float64Var(&c.PersonalP, "personal", 0.2, "S3: share of publishes to personal channels")
	fs.StringVar(&c.Clock, "clock", "kernel", "delivery time: kernel (socket receive timestamp, excludes the generator's own delay) or user (when the generator parses it)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the generator's own CPU profile to this file")
	fs.StringVar(&c.History, "history", "", "the server's channel history rules (its BROADCAST_HISTORY, e.g. s2=1000/5m), recorded in the results; the tool checks that the benchmark channels' subscriptions carry a stream position")
	fs.IntVar(&c.Missed, "missed", 1000, "s5: publications while the subscribers are disconnected")
	fs.BoolVar(&c.LiveRecovery, "live", false, "s5: keep publishing at -rate while the subscribers reconnect and recover, and check the live events that follow the replay")
	fs.StringVar(&c.ReconnectURL, "reconnect-url", "", "s5: WebSocket URL the subscribers reconnect to (default -url; on Redis, another node's)")
	fs.DurationVar(&c.RecoverWait, "recover-wait", 30*time.Second, "s5: max wait for every subscriber to receive what it missed")
	fs.StringVar(&c.RedisAddr, "redis-addr", "", "host:port of the server's Redis: report INFO commandstats deltas per publish (loopback only)")
	fs.StringVar(&c.NATSMonitor, "nats-monitor", "", "host:port of the server's NATS monitoring endpoint (nats-server -m): report /varz message deltas per publish (loopback only)")
	fs.IntVar(&c.NATSPID, "nats-pid", 0, "nats-server process id: report its CPU seconds with -nats-monitor")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, "usage: broadcast-bench [flags]\n       broadcast-bench report FILE...\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(*src, ",") {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return nil, fmt.Errorf("-src: %q is not an IP address", s)
		}
		c.Sources = append(c.Sources, ip)
	}
	return c, c.applyPreset()
}

// flagError is a command line the flag package refused; it has already
// printed the error and the usage.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// parseArgs parses args with fs, returning flag.ErrHelp as it is for -h
// and -help, and any other refusal as a *flagError.
func parseArgs(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &flagError{err}
}

// parseReportFlags parses the arguments of "broadcast-bench report": the
// files of saved JSON result lines, with -h or -help for the usage.
func parseReportFlags(args []string) ([]string, error) {
	return parseReportArgs(args, nil)
}

// parseReportArgs is parseReportFlags writing the usage and errors to out
// (nil: stderr).
func parseReportArgs(args []string, out io.Writer) ([]string, error) {
	fs := flag.NewFlagSet("broadcast-bench report", flag.ContinueOnError)
	if out != nil {
		fs.SetOutput(out)
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: broadcast-bench report FILE...\n\n"+
			"Reads the JSON result lines that broadcast-bench printed (other lines are\n"+
			"skipped) and prints a markdown comparison of the targets.\n")
	}
	if err := parseArgs(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		err := errors.New("no result files")
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return nil, &flagError{err}
	}
	return fs.Args(), nil
}

func (c *Config) applyPreset() error {
	p, ok := presets[c.Scenario]
	if !ok {
		return fmt.Errorf("unknown -scenario %q (want s1, s2, s3, s4, s4o or s5)", c.Scenario)
	}
	setStr(&c.Mode, p.mode)
	setInt(&c.Conns, p.conns)
	setF(&c.Rate, p.rate)
	setF(&c.RateMin, p.rateMin)
	setF(&c.RateMax, p.rateMax)
	if c.Churn < 0 {
		c.Churn = p.churn
	}
	if c.SlowFrac < 0 {
		c.SlowFrac = p.slow
	}
	if c.SlowPhase == 0 {
		c.SlowPhase = max(p.phase, c.Step)
	}
	switch c.Target {
	case "native":
		setStr(&c.URL, "ws://127.0.0.1:8099/ws")
		setStr(&c.API, "http://127.0.0.1:8099")
	case "pusher":
		setStr(&c.URL, "ws://127.0.0.1:8099/app/velocity-key?protocol=7&client=broadcast-bench&version=8.6.0")
		setStr(&c.API, "http://127.0.0.1:8099")
	case "centrifugo":
		setStr(&c.URL, "ws://127.0.0.1:8000/connection/websocket")
		setStr(&c.API, "http://127.0.0.1:8000")
	}
	if c.Scenario == "s5" {
		setStr(&c.ReconnectURL, c.URL)
	}
	return c.validate()
}

// Bounds that keep a run from becoming something else than a benchmark.
const (
	maxConns    = 19500
	maxRate     = 200000
	maxDuration = time.Hour
)

func (c *Config) validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Mode != "idle" && c.Mode != "fixed" && c.Mode != "ramp" && c.Mode != "recovery", "-mode %q: want idle, fixed, ramp or recovery", c.Mode)
	check((c.Mode == "recovery") != (c.Scenario == "s5"), "-mode recovery goes with -scenario s5 (and s5 with it)")
	check(c.Scenario == "s5" && c.Target != "native", "s5 needs -target native (recovery is part of the native protocol)")
	check(c.Scenario == "s5" && (c.Missed < 1 || c.Missed > 10000), "-missed %d: want 1..10000 (a channel retains at most 10,000)", c.Missed)
	check(c.Scenario == "s5" && c.RecoverWait <= 0, "-recover-wait must be positive")
	check(c.Conns < 1 || c.Conns > maxConns, "-conns %d: want 1..%d", c.Conns, maxConns)
	check(c.Mode != "idle" && (c.Rate <= 0 || c.Rate > maxRate || c.RateMax > maxRate), "rates must be in (0, %d]", maxRate)
	check(c.Mode == "ramp" && (c.RateMin <= 0 || c.RateMin > c.RateMax || c.RampFactor <= 1), "ramp needs 0 < -rate-min <= -rate-max and -ramp-factor > 1")
	check(c.Payload < 100 || c.Payload > 4096, "-payload %d: want 100..4096", c.Payload)
	check(c.Publishers < 1 || c.Publishers > 64, "-publishers %d: want 1..64", c.Publishers)
	check(c.Batch < 1 || c.Batch > 1000, "-batch %d: want 1..1000", c.Batch)
	check(c.SlowFrac < 0 || c.SlowFrac >= 1, "-slow %.2f: want [0, 1)", c.SlowFrac)
	check(c.Churn < 0 || c.Churn > 5000, "-churn %.0f: want 0..5000", c.Churn)
	check(c.MaxTime <= 0 || c.MaxTime > maxDuration, "-max-time: want (0, %s]", maxDuration)
	check(c.Step <= 0 || c.Step > maxDuration || c.Idle > maxDuration, "durations: want (0, %s]", maxDuration)
	check(c.DialConc < 1, "-dial-concurrency must be positive")
	check(c.Clock != "kernel" && c.Clock != "user", "-clock %q: want kernel or user", c.Clock)
	check(c.Scenario == "s3" && c.Conns < 5, "s3 needs at least 5 connections")
	check(len(c.Sources) == 0, "-src: at least one address")
	for _, ip := range c.Sources {
		check(!ip.IsLoopback(), "-src %s is not a loopback address", ip)
	}
	for scheme, addr := range map[string]string{"redis": c.RedisAddr, "http": c.NATSMonitor} {
		if addr == "" {
			continue
		}
		if err := requireLoopback(scheme+"://"+addr, net.LookupIP); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range []string{c.URL, c.API, c.ReconnectURL} {
		if u == "" {
			continue
		}
		if err := requireLoopback(u, net.LookupIP); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// requireLoopback refuses a URL whose host is not (or does not resolve
// only to) loopback addresses: the tool must never load another machine.
func requireLoopback(raw string, lookup func(string) ([]net.IP, error)) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q: not an absolute URL", raw)
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = lookup(host); err != nil || len(ips) == 0 {
			return fmt.Errorf("%q: cannot resolve %s: %v", raw, host, err)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%q: %s is not a loopback address; this tool only loads the local machine", raw, ip)
		}
	}
	return nil
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setF(p *float64, v float64) {
	if *p == 0 {
		*p = v
	}
}
