//go:build linux

package main

import "time"

func (c *client) onFrame(f Frame) {
	switch f.Kind {
	case FrameEvent:
		c.onEvent(f)
	case FrameSubOK:
		c.onSubscribed(f)
	case FrameConnected:
		c.mu.Lock()
		c.connected = true
		c.mu.Unlock()
	case FramePing:
		_ = c.write(opText, f.Reply)
	case FrameError:
		c.r.frameErrors.Add(1)
		c.mu.Lock()
		if c.firstErr == "" {
			c.firstErr = string(f.Err)
		}
		c.mu.Unlock()
		c.r.noteError(string(f.Err))
	}
}

func (c *client) subIndex(f Frame) int {
	if f.Ref >= 0 {
		if f.Ref < len(c.subs) {
			return f.Ref
		}
		return -1
	}
	for i := range c.subs {
		if c.subs[i].wire == string(f.Channel) {
			return i
		}
	}
	return -1
}

func (c *client) onSubscribed(f Frame) {
	i := c.subIndex(f)
	if i < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.subs[i]
	if s.ready {
		return
	}
	s.ready = true
	c.r.acks.Add(1)
	if f.Epoch != nil {
		c.r.streamAcks.Add(1)
	}
	if c.pos != nil {
		c.pos.subscribed(f)
	}
	if !s.keep {
		for p := range s.streams {
			s.streams[p].Start(c.r.lastSeq(p, s.ch) + 1)
		}
	}
	c.nReady++
}

func (c *client) onEvent(f Frame) {
	now := c.rxTime
	if now == 0 {
		now = time.Now().UnixNano()
	}
	m, ok := ParsePayload(f.Data)
	if !ok {
		c.r.badPayload.Add(1)
		return
	}
	if c.pos != nil && len(f.Epoch) > 0 {
		c.eventEpoch(f.Epoch)
	}
	if c.pos == nil || c.positioned(f.Offset, now) {
		rec := c.r.rec[c.class].Load()
		rec.events.Add(1)
		lat := now - m.TS
		if lat < 0 {
			lat = 0
		}
		rec.hist.Record(uint64(lat / 1000))
	}
	i := -1
	for j := range c.subs {
		if c.subs[j].ch == m.Chan {
			i = j
			break
		}
	}
	if i < 0 || c.subs[i].wire != string(f.Channel) || int(m.Pub) >= c.r.cfg.Publishers {
		c.r.wrongChannel.Add(1)
		return
	}
	c.mu.Lock()
	c.subs[i].streams[m.Pub].Observe(m.Seq)
	c.mu.Unlock()
}

// tally adds the connection's counts to t. A closed connection counts as
// having received everything it was sent up to its close: its losses are
// reported as an unexpected close instead.
func (c *client) tally(t *Tally) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.subs {
		s := &c.subs[i]
		for p := range s.streams {
			st := &s.streams[p]
			exp := st.Expected(c.r.lastSeq(p, s.ch))
			if c.closed {
				exp = st.Uniq
			}
			t.Expected += exp
			t.Uniq += st.Uniq
			t.Dup += st.Dup
			t.Late += st.Late
			t.Early += st.Early
		}
	}
}

// Tally sums stream counters over connections.
type Tally struct {
	Expected, Uniq, Dup, Late, Early uint64
}

// Missing returns the expected messages not received.
// It works on a difference of two tallies too: the arithmetic wraps.
func (t Tally) Missing() uint64 {
	if d := int64(t.Expected - t.Uniq); d > 0 {
		return uint64(d)
	}
	return 0
}

// Sub returns t − o, field by field.
func (t Tally) Sub(o Tally) Tally {
	return Tally{t.Expected - o.Expected, t.Uniq - o.Uniq, t.Dup - o.Dup, t.Late - o.Late, t.Early - o.Early}
}
