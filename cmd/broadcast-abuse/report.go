package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// report is what one attack measured.
type report struct {
	sent       int            // frames (or channels) the attacker sent
	rssBefore  float64        // server RSS, MiB
	rssPeak    float64        //
	rssAfter   float64        // after the attack ended and the server settled
	closeCodes map[int]int    // close codes the attacker's connections saw
	answers    map[string]int // frames the attacker got back, by type/code
	stats      map[string]any // the server's /stats at the end
	lines      []string       // attack-specific figures
}

func (r *report) print(attack string) {
	fmt.Printf("attack %s\n", attack)
	fmt.Printf("  sent                %d\n", r.sent)
	fmt.Printf("  server RSS MiB      before %.1f, peak %.1f, after %.1f\n", r.rssBefore, r.rssPeak, r.rssAfter)
	fmt.Printf("  attacker closes     %s\n", countList(r.closeCodes))
	fmt.Printf("  attacker answers    %s\n", countList(r.answers))
	for _, l := range r.lines {
		fmt.Printf("  %s\n", l)
	}
	keys := make([]string, 0, len(r.stats))
	for k := range r.stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, r.stats[k]))
	}
	fmt.Printf("  server stats        %s\n", strings.Join(parts, " "))
}

func countList[K comparable](m map[K]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%v×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// rssMiB reads a process's resident set size.
func rssMiB(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// sampler keeps the peak RSS of a process until stopped.
type sampler struct {
	pid  int
	peak float64
	stop chan struct{}
	done chan struct{}
}

func sample(pid int) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			s.peak = max(s.peak, rssMiB(pid))
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) end() float64 {
	close(s.stop)
	<-s.done
	return max(s.peak, rssMiB(s.pid))
}

// serverStats returns the benchserver's /stats.
func serverStats(addr string) map[string]any {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/stats")
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	keep := map[string]any{}
	for _, k := range []string{"connections", "subscriptions", "channels", "slow_closed", "delivered", "dropped", "conflated"} {
		if v, ok := m[k]; ok {
			keep[k] = v
		}
	}
	return keep
}

// cpuSeconds reads a process's user plus system CPU time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}
