// Command broadcast-abuse attacks a running benchserver the way a hostile
// anonymous client would, and prints what the server did and what it cost:
// its memory (RSS, read from /proc), the attacker's fate, and the latency
// other clients saw meanwhile. scripts/abuse.sh builds and starts a fresh
// server for each attack and runs this against it.
//
//	broadcast-abuse -addr 127.0.0.1:8099 -pid 1234 -attack subflood
//
// Attacks:
//
//	subflood  one connection subscribes to -n distinct public channels
//	pingflood one connection sends -n pings and never reads the answers
//	junk      8 connections send 1-byte text frames, never reading
//	flood     4 connections send tiny frames as fast as they can while 100
//	          healthy subscribers measure the latency of 100 publishes/s
//	burst     3,000 events of 8 KiB in one loop to a reader that keeps
//	          reading and one that stalled
//
// The tool talks to loopback only and stops by itself after -d.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"
)

type options struct {
	addr   string
	pid    int
	n      int
	dur    time.Duration
	attack string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8099", "benchserver address (loopback)")
	flag.IntVar(&o.pid, "pid", 0, "benchserver process id, for its RSS")
	flag.IntVar(&o.n, "n", 0, "frames or channels to send (0: the attack's default)")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "how long the attack runs")
	flag.StringVar(&o.attack, "attack", "", "subflood, pingflood, junk, flood or burst")
	flag.Parse()
	attacks := map[string]func(options) (report, error){
		"subflood": subFlood, "pingflood": pingFlood, "junk": junk, "flood": flood, "burst": burst,
	}
	run, ok := attacks[o.attack]
	if !ok {
		fmt.Fprintln(os.Stderr, "broadcast-abuse: -attack must be one of subflood, pingflood, junk, flood, burst")
		os.Exit(2)
	}
	r, err := run(o)
	if err != nil {
		log.Fatalf("broadcast-abuse: %s: %v", o.attack, err)
	}
	r.print(o.attack)
}
