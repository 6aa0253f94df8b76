//go:build linux

package main

import (
	"bytes"
	"context"
	"log"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// PubStats summarizes one publishing period.
type PubStats struct {
	Published uint64        // messages sent in successful requests
	Requests  uint64        // HTTP requests
	Errors    uint64        // messages in failed requests
	MaxLag    time.Duration // worst delay of a send after its intended time
}

// schedule is an open-loop timetable: message k is due at start + k/rate,
// whatever happened to earlier ones.
type schedule struct {
	start time.Time
	rate  float64
	total int
}

func (s schedule) due(k int) time.Time {
	return s.start.Add(time.Duration(float64(k) / s.rate * float64(time.Second)))
}

// publish offers rate messages/s for d, open loop. Publisher p owns
// messages p, p+P, p+2P…; when it is behind it sends every due message of
// its own in one request (up to Batch), so the offered rate holds while
// each publisher's messages stay in order. Each message carries its
// intended send time, so time spent behind counts as latency.
func (r *runner) publish(ctx context.Context, rate float64, d time.Duration) PubStats {
	return r.publishN(ctx, rate, int(rate*d.Seconds()))
}

// publishN is publish for exactly total messages (at rate, open loop).
func (r *runner) publishN(ctx context.Context, rate float64, total int) PubStats {
	P := r.cfg.Publishers
	s := schedule{start: time.Now().Add(10 * time.Millisecond), rate: rate, total: total}
	var st PubStats
	var maxLag atomic.Int64
	var wg sync.WaitGroup
	for p := range P {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, reqs, bad, lag := r.publisher(ctx, p, s)
			atomic.AddUint64(&st.Published, ok)
			atomic.AddUint64(&st.Requests, reqs)
			atomic.AddUint64(&st.Errors, bad)
			for {
				m := maxLag.Load()
				if int64(lag) <= m || maxLag.CompareAndSwap(m, int64(lag)) {
					break
				}
			}
		}()
	}
	wg.Wait()
	st.MaxLag = time.Duration(maxLag.Load())
	return st
}

func (r *runner) publisher(ctx context.Context, p int, s schedule) (ok, reqs, bad uint64, maxLag time.Duration) {
	P := r.cfg.Publishers
	rng := rand.New(rand.NewPCG(uint64(p)+1, uint64(time.Now().UnixNano())))
	arena := make([]byte, 0, r.cfg.Batch*(r.cfg.Payload+8))
	batch := make([]Outgoing, 0, r.cfg.Batch)
	var body bytes.Buffer
	errLogged := false
	for k := p; k < s.total && ctx.Err() == nil; {
		due := s.due(k)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		}
		now := time.Now()
		maxLag = max(maxLag, now.Sub(due))
		arena, batch = arena[:0], batch[:0]
		for k < s.total && len(batch) < r.cfg.Batch && !s.due(k).After(now) {
			ch := r.topo.Pick(rng)
			m := Msg{
				ID:   r.nextID.Add(1),
				Chan: ch,
				Pub:  uint16(p),
				Seq:  r.seqs[p*len(r.topo.Names)+int(ch)].Add(1),
				TS:   s.due(k).UnixNano(),
			}
			start := len(arena)
			arena = AppendPayload(arena, m, r.cfg.Payload)
			batch = append(batch, Outgoing{Channel: r.wire[ch], Data: arena[start:]})
			k += P
		}
		reqs++
		if err := r.ad.Publish(ctx, r.hc, batch, &body); err != nil {
			bad += uint64(len(batch))
			if !errLogged {
				log.Printf("publisher %d: %v", p, err)
				errLogged = true
			}
			continue
		}
		ok += uint64(len(batch))
	}
	return
}
