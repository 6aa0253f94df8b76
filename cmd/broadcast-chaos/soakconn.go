//go:build linux

package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// soakStats are the load's counters.
type soakStats struct {
	connects, connectFail, planned, live   atomic.Int64
	subs, unsubs, subErrors                atomic.Int64
	delivered, gaps, dupLate, early, stray atomic.Int64
	pubOK, pubErr                          atomic.Int64

	mu     sync.Mutex
	closes map[int]int // unexpected closes by code
	errs   []string    // first few publish and subscription errors
}

func (s *soakStats) noteClose(code int) {
	s.mu.Lock()
	s.closes[code]++
	s.mu.Unlock()
}

func (s *soakStats) noteErr(e string) {
	s.mu.Lock()
	if len(s.errs) < 5 {
		s.errs = append(s.errs, e)
	}
	s.mu.Unlock()
}

// soakLoad is what the connections share.
type soakLoad struct {
	cfg    *soakConfig
	url    string
	seqs   []atomic.Uint64 // last sequence allocated per channel
	stats  *soakStats
	dialer *websocket.Dialer
}

// track follows one subscription: from its confirmation on, every
// sequence above start must arrive, in order.
type track struct {
	ready       bool
	start, last uint64
}

// soakConn is one slot: a connection that churners replace every few
// seconds and the others keep, moving one subscription now and then.
type soakConn struct {
	l       *soakLoad
	churner bool
	rng     *rand.Rand
	onLive  func() // called after each successful dial (and once more at the end)

	mu     sync.Mutex
	tracks map[int]*track // subscribed channel → its accounting
}

// run keeps the slot's connection going until ctx ends.
func (c *soakConn) run(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		ws, err := dialWS(ctx, c.l.dialer, c.l.url)
		if err != nil {
			if ctx.Err() == nil {
				c.l.stats.connectFail.Add(1)
			}
			sleep(ctx, backoff+rand.N(backoff))
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		if c.onLive != nil {
			c.onLive()
		}
		c.l.stats.connects.Add(1)
		c.l.stats.live.Add(1)
		code, planned := c.session(ctx, ws)
		c.l.stats.live.Add(-1)
		if ctx.Err() != nil {
			return
		}
		if planned {
			c.l.stats.planned.Add(1)
			continue
		}
		c.l.stats.noteClose(code)
		sleep(ctx, 100*time.Millisecond+rand.N(250*time.Millisecond))
	}
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func (c *soakConn) jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(c.rng.Int64N(int64(d)))
}

// session serves one connection; planned is true when it ended on purpose.
func (c *soakConn) session(ctx context.Context, ws *websocket.Conn) (code int, planned bool) {
	done := make(chan int, 1)
	c.mu.Lock()
	c.tracks = map[int]*track{}
	c.mu.Unlock()
	go func() { done <- c.read(ws) }()
	end := func() {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.Close()
		<-done
	}
	for len(c.channels()) < c.l.cfg.subsPer {
		if !c.subscribe(ws) {
			_ = ws.Close()
			return <-done, false
		}
	}
	life := time.NewTimer(time.Hour * 24)
	if c.churner {
		life.Reset(c.jitter(c.l.cfg.churnEvery))
	}
	defer life.Stop()
	move := time.NewTicker(c.jitter(c.l.cfg.resubEvery))
	defer move.Stop()
	for {
		select {
		case <-ctx.Done():
			end()
			return 0, true
		case code := <-done:
			_ = ws.Close()
			return code, false
		case <-life.C:
			end()
			return 0, true
		case <-move.C:
			if !c.unsubscribeOne(ws) || !c.subscribe(ws) {
				_ = ws.Close()
				return <-done, false
			}
		}
	}
}

func (c *soakConn) channels() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(c.tracks))
	for ch := range c.tracks {
		out = append(out, ch)
	}
	return out
}

// subscribe adds a random channel the connection is not on.
func (c *soakConn) subscribe(ws *websocket.Conn) bool {
	c.mu.Lock()
	ch := c.rng.IntN(c.l.cfg.chans)
	for c.tracks[ch] != nil {
		ch = c.rng.IntN(c.l.cfg.chans)
	}
	c.tracks[ch] = &track{}
	c.mu.Unlock()
	c.l.stats.subs.Add(1)
	return sendSub(ws, "subscribe", soakChannel(ch)) == nil
}

// unsubscribeOne leaves one of the connection's channels; what still
// arrives for it is not counted.
func (c *soakConn) unsubscribeOne(ws *websocket.Conn) bool {
	chs := c.channels()
	if len(chs) == 0 {
		return true
	}
	ch := chs[c.rng.IntN(len(chs))]
	c.mu.Lock()
	delete(c.tracks, ch)
	c.mu.Unlock()
	c.l.stats.unsubs.Add(1)
	return sendSub(ws, "unsubscribe", soakChannel(ch)) == nil
}

// read accounts for every frame until the connection ends, and returns
// its close code.
func (c *soakConn) read(ws *websocket.Conn) int {
	st := c.l.stats
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return closeCode(err)
		}
		var f Frame
		if json.Unmarshal(msg, &f) != nil {
			continue
		}
		switch f.Type {
		case "subscription_succeeded":
			if ch, ok := soakIndex(f.Channel); ok {
				c.mu.Lock()
				if t := c.tracks[ch]; t != nil && !t.ready {
					t.ready, t.start = true, c.l.seqs[ch].Load()
					t.last = t.start
				}
				c.mu.Unlock()
			}
			continue
		case "subscription_error", "error":
			st.subErrors.Add(1)
			st.noteErr(string(msg))
			continue
		}
		p, ok := parseEvent(&f)
		ch, ok2 := soakIndex(f.Channel)
		if !ok || !ok2 {
			continue
		}
		c.mu.Lock()
		t := c.tracks[ch]
		switch {
		case t == nil || !t.ready:
			st.stray.Add(1)
		case p.S <= t.start:
			st.early.Add(1)
		case p.S > t.last:
			st.gaps.Add(int64(p.S - t.last - 1))
			t.last = p.S
			st.delivered.Add(1)
		default:
			st.dupLate.Add(1)
		}
		c.mu.Unlock()
	}
}

func soakChannel(i int) string { return "soak." + strconv.Itoa(i) }

func soakIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "soak.")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil
}
