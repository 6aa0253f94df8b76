//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// subscriber is one chaos client: it subscribes to one channel and, like
// a real client, reconnects and subscribes again whenever its connection
// ends, recording every event and every close code.
type subscriber struct {
	url, channel string

	mu  sync.Mutex
	rec SubRecord
	// On a channel with history: the last position seen, sent as the
	// since of the next subscribe (owned by the run goroutine).
	offset uint64
	epoch  string
}

// run keeps the subscriber connected until ctx ends. ready gets one value:
// nil once the first subscription is confirmed, or the first error.
func (s *subscriber) run(ctx context.Context, ready chan<- error) {
	d := dialer()
	first := true
	backoff := 250 * time.Millisecond
	for gen := 0; ctx.Err() == nil; {
		code, err := s.session(ctx, d, gen, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil { // never subscribed: the node is down or refused
			if first {
				first = false
				ready <- err
			}
			sleep(ctx, backoff+rand.N(backoff))
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		s.mu.Lock()
		s.rec.Closes = append(s.rec.Closes, code)
		s.mu.Unlock()
		gen++
		sleep(ctx, 100*time.Millisecond+rand.N(250*time.Millisecond))
	}
}

// session is one connection: connect, subscribe, read until it ends. It
// returns the close code, or an error if the subscription never succeeded.
func (s *subscriber) session(ctx context.Context, d *websocket.Dialer, gen int, onReady func()) (int, error) {
	ws, err := dialWS(ctx, d, s.url)
	if err != nil {
		return 0, err
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	if err := sendSubSince(ws, "subscribe", s.channel, s.offset, s.epoch); err != nil {
		return 0, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	subscribed := false
	for {
		_, msg, err := ws.ReadMessage()
		now := time.Now()
		if err != nil {
			if !subscribed {
				return 0, fmt.Errorf("before the subscription: %w", err)
			}
			return closeCode(err), nil
		}
		var f Frame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		if f.Epoch != "" {
			s.offset, s.epoch = f.Offset, f.Epoch
		}
		switch f.Type {
		case "subscription_succeeded":
			var pos struct {
				Offset    uint64 `json:"offset"`
				Epoch     string `json:"epoch"`
				Recovered *bool  `json:"recovered"`
			}
			if json.Unmarshal(f.Data, &pos) == nil && pos.Epoch != "" && (pos.Recovered == nil || !*pos.Recovered) {
				s.offset, s.epoch = pos.Offset, pos.Epoch // a fresh start: nothing to recover below it
			}
			if pos.Recovered != nil {
				s.mu.Lock()
				if *pos.Recovered {
					s.rec.Recovered++
				} else {
					s.rec.NotRecovered++
				}
				s.mu.Unlock()
			}
			if !subscribed {
				subscribed = true
				_ = ws.SetReadDeadline(time.Time{})
				onReady()
			}
		case "subscription_error", "error":
			if !subscribed {
				return 0, fmt.Errorf("refused: %s", msg)
			}
		}
		if p, ok := parseEvent(&f); ok {
			s.mu.Lock()
			s.rec.Receipts = append(s.rec.Receipts, Receipt{Seq: p.S, At: now, Gen: gen})
			s.mu.Unlock()
		}
	}
}

// record returns a copy of what the subscriber saw.
func (s *subscriber) record() SubRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.Receipts = append([]Receipt(nil), r.Receipts...)
	r.Closes = append([]int(nil), r.Closes...)
	return r
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
