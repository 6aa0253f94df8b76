package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// flood: 4 connections send tiny frames as fast as they can while 100
// healthy subscribers measure the latency of 100 publishes/s; the first
// half of -d runs without the flooders, as the baseline.
func flood(o options) (report, error) {
	const healthy, rate = 100, 100
	var subs []*conn
	for range healthy {
		c, err := dial(o.addr)
		if err != nil {
			return report{}, err
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","channel":"healthy"}`)); err != nil {
			return report{}, err
		}
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return report{}, err
		}
		subs = append(subs, c)
	}
	var flooders []*conn
	for range 4 {
		c, err := dial(o.addr)
		if err != nil {
			return report{}, err
		}
		flooders = append(flooders, c)
	}
	r := attack(o, func(r *report) {
		var mu sync.Mutex
		lat := map[bool][]float64{} // flooding → latencies in ms
		var flooding bool
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
					lat[flooding] = append(lat[flooding], ms)
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
		for now := range tick.C {
			if now.After(end) {
				break
			}
			if !started && now.After(half) {
				started = true
				mu.Lock()
				flooding = true
				mu.Unlock()
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
		fwg.Wait()
		time.Sleep(time.Second) // the last publishes in flight
		for _, c := range append(subs, flooders...) {
			c.ws.Close()
		}
		wg.Wait()
		for _, phase := range []bool{false, true} {
			name := "healthy, no flood  "
			if phase {
				name = "healthy, 4 flooding"
			}
			r.lines = append(r.lines, fmt.Sprintf("%s p50 %.2f ms, p99 %.2f ms over %d deliveries", name, pct(lat[phase], 50), pct(lat[phase], 99), len(lat[phase])))
		}
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
