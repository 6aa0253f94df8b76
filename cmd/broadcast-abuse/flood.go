package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// flood: 4 connections send tiny frames as fast as they can while 100
// healthy subscribers measure the latency of 100 publishes/s; the first
// half of -d runs without the flooders, as the baseline.
func flood(o options) (report, error) {
	const healthy, rate = 100, 100
	subs, err := dialN(o.addr, healthy, "healthy")
	if err != nil {
		return report{}, err
	}
	flooders, err := dialN(o.addr, 4, "")
	if err != nil {
		return report{}, err
	}
	r := attack(o, func(r *report) {
		var mu sync.Mutex
		lat := map[int][]float64{} // phase → latencies in ms
		phase := 0                 // 0: no flood, 1: first 3 s of the flood, 2: the rest
		var wg sync.WaitGroup
		for _, c := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, b, err := c.ws.ReadMessage()
					if err != nil {
						return
					}
					var f struct{ Data struct{ T int64 } }
					if json.Unmarshal(b, &f) != nil || f.Data.T == 0 {
						continue
					}
					ms := float64(time.Now().UnixNano()-f.Data.T) / 1e6
					mu.Lock()
					lat[phase] = append(lat[phase], ms)
					mu.Unlock()
				}
			}()
		}
		pubErrs := 0
		tick := time.NewTicker(time.Second / rate)
		half := time.Now().Add(o.dur / 2)
		end := time.Now().Add(o.dur)
		var fwg sync.WaitGroup
		started := false
		cpu0, t0 := cpuSeconds(o.pid), time.Now()
		var cpu1 float64
		var t1 time.Time
		for now := range tick.C {
			if now.After(end) {
				break
			}
			if !started && now.After(half) {
				started = true
				cpu1, t1 = cpuSeconds(o.pid), now
				mu.Lock()
				phase = 1
				mu.Unlock()
				time.AfterFunc(3*time.Second, func() { mu.Lock(); phase = 2; mu.Unlock() })
				for _, c := range flooders {
					fwg.Add(1)
					go func() {
						defer fwg.Done()
						k := c.flood(time.Until(end), func(int) []byte { return []byte(`{"type":"ping"}`) })
						mu.Lock()
						r.sent += k
						mu.Unlock()
					}()
				}
			}
			if err := publish(o.addr, []map[string]any{{"channel": "healthy", "event": "Tick", "data": map[string]any{"t": time.Now().UnixNano()}}}); err != nil {
				pubErrs++
			}
		}
		tick.Stop()
		cpu2, t2 := cpuSeconds(o.pid), time.Now()
		fwg.Wait()
		time.Sleep(time.Second) // the last publishes in flight
		for _, c := range append(subs, flooders...) {
			c.ws.Close()
		}
		wg.Wait()
		for p, name := range []string{"no flood", "flood, first 3 s", "flood, after 3 s"} {
			r.lines = append(r.lines, fmt.Sprintf("healthy, %-16s p50 %.2f ms, p99 %.2f ms over %d deliveries", name, pct(lat[p], 50), pct(lat[p], 99), len(lat[p])))
		}
		r.lines = append(r.lines, fmt.Sprintf("server CPU           %.0f%% without the flood, %.0f%% with it", 100*(cpu1-cpu0)/t1.Sub(t0).Seconds(), 100*(cpu2-cpu1)/t2.Sub(t1).Seconds()))
		r.lines = append(r.lines, fmt.Sprintf("publish errors       %d", pubErrs))
	})
	return r, nil
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}
