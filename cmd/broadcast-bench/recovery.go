//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strconv"
	"time"
)

// S5, recovery from channel history (native protocol). Every event frame
// on a channel with history ends with ,"offset":N,"epoch":E; a
// subscription_succeeded carries the channel's offset and epoch; a
// subscribe with "since":{offset,epoch} is answered with recovered:true
// and the missed publications, in order, before live ones. The scenario:
//
//  1. -conns subscribers of "s5" (a channel the server keeps history
//     for), a baseline at -rate for -step: every event must arrive, and
//     offsets must follow each other;
//  2. every subscriber closes its socket; -missed events are published;
//  3. every subscriber reconnects (to -reconnect-url, another node on
//     Redis) and subscribes with since = its last offset and epoch. With
//     -live, publishing goes on at -rate for -step meanwhile.
//
// Recovery time is from a subscriber's reconnect (its dial) to the
// arrival of the last event it missed. Offsets (each subscriber's must
// grow by exactly one) give lost and duplicated events; the payloads'
// sequence numbers, whose streams carry over from the first connection to
// the second, are checked as in every scenario (missing, duplicated, out
// of order) over the replay and the live events after it.

// streamAdapter is the native adapter of s5: events also yield their
// offset. Only this scenario pays for reading it.
type streamAdapter struct {
	nativeAdapter
}

var (
	offsetKey = []byte(`"offset":`)
	epochKey  = []byte(`"epoch":"`)
)

// Decode is the native Decode plus the offset of event frames, read from
// the end of the frame, where the server writes it.
func (a *streamAdapter) Decode(msg []byte, fn func(Frame)) {
	a.nativeAdapter.Decode(msg, func(f Frame) {
		if f.Kind == FrameEvent {
			if i := bytes.LastIndex(msg, offsetKey); i >= 0 {
				v, _, _, ok := parseInt(msg, skipSpace(msg, i+len(offsetKey)))
				if ok {
					f.Offset = v
				}
			}
			// The epoch follows the offset; a channel that had stored
			// nothing when a subscriber joined gets its epoch this way.
			if i := bytes.LastIndex(msg, epochKey); i >= 0 {
				rest := msg[i+len(epochKey):]
				if j := bytes.IndexByte(rest, '"'); j >= 0 {
					f.Epoch = rest[:j]
				}
			}
		}
		fn(f)
	})
}

// subscribeSince is a native subscribe that asks for what was published
// after offset in epoch.
func subscribeSince(wire string, offset uint64, epoch string) []byte {
	e, _ := json.Marshal(epoch)
	b := []byte(`{"type":"subscribe","data":{"channel":"` + wire + `","since":{"offset":`)
	b = strconv.AppendUint(b, offset, 10)
	b = append(b, `,"epoch":`...)
	b = append(b, e...)
	return append(b, "}}}"...)
}

// posState follows the stream position of a connection's subscription
// (s5 has one per connection). Guarded by the client's mu.
type posState struct {
	epoch string // from the subscription's acknowledgement, or the first event's
	last  uint64 // highest offset received (or acknowledged)

	// A reconnection: subscribe with since = (from, epoch); offsets up to
	// target are the replay of what was missed.
	since  bool
	from   uint64
	target uint64
	start  int64 // reconnect start (dial), Unix ns
	doneAt int64 // receive time of the offset target; 0 not yet

	acked        bool
	recovered    int8 // as in Frame.Recovered
	epochChanged bool // the acknowledgement had another epoch than since

	replayed, live uint64 // distinct offsets ≤ target, > target
	gaps, dups     uint64 // offsets skipped; offsets not above the last one
	noOffset       uint64 // events without an offset (the channel keeps no history)
}

// subscribed notes a subscription's acknowledgement.
func (p *posState) subscribed(f Frame) {
	p.acked, p.recovered = true, f.Recovered
	if f.Epoch == nil {
		return
	}
	if p.since && string(f.Epoch) != p.epoch {
		p.epochChanged = true
	}
	p.epoch = string(f.Epoch)
	if !p.since {
		p.last = f.Offset
	}
}

// eventEpoch takes an event's epoch as the subscription's when its
// acknowledgement had none (the channel had stored nothing yet).
func (c *client) eventEpoch(e []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos.epoch == "" {
		c.pos.epoch = string(e)
	}
}

// positioned accounts for an event's offset (received at now, Unix ns)
// and reports whether it is live: not part of a replay, so that its
// latency means something.
func (c *client) positioned(off uint64, now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pos
	switch {
	case off == 0:
		p.noOffset++
	case off <= p.last:
		p.dups++
	default:
		p.gaps += off - p.last - 1
		p.last = off
		if off <= p.target {
			p.replayed++
		} else {
			p.live++
		}
		if p.target > 0 && p.doneAt == 0 && off >= p.target {
			p.doneAt = now
		}
	}
	return off > p.target
}

// resume reconnects old's slot as a new connection that subscribes with
// since = old's last position; offsets up to target are the replay. The
// new connection continues old's sequence streams.
func (r *runner) resume(ctx context.Context, old *client, target uint64) error {
	c := newClient(r, old.slot, old.class)
	old.mu.Lock()
	for i := range c.subs {
		copy(c.subs[i].streams, old.subs[i].streams)
		c.subs[i].keep = true
	}
	from, epoch := old.pos.last, old.pos.epoch
	old.mu.Unlock()
	c.pos = &posState{epoch: epoch, last: from, since: true, from: from, target: target, start: time.Now().UnixNano()}
	r.mu.Lock()
	r.live[old.slot] = c
	r.all = append(r.all, c)
	r.mu.Unlock()
	return c.open(ctx, r.reurl)
}

// runRecovery is S5 (see the top of this file).
func (r *runner) runRecovery(ctx context.Context, emit func(*Result)) *Result {
	base := r.step(ctx, "baseline", r.cfg.Rate, r.cfg.Step)
	emit(base)
	old := r.liveClients(classMain)
	var head uint64
	behind, noPos := 0, 0
	for _, c := range old {
		c.mu.Lock()
		head = max(head, c.pos.last)
		if c.pos.epoch == "" {
			noPos++
		}
		c.mu.Unlock()
	}
	for _, c := range old {
		c.mu.Lock()
		if c.pos.last < head {
			behind++
		}
		c.mu.Unlock()
	}

	w := r.begin(ctx)
	for _, c := range old {
		c.close()
	}
	// The streams of the closed connections carry over to the new ones:
	// only the new ones are counted from here on.
	gone := make(map[*client]bool, len(old))
	for _, c := range old {
		gone[c] = true
	}
	r.mu.Lock()
	kept := r.all[:0]
	for _, c := range r.all {
		if !gone[c] {
			kept = append(kept, c)
		}
	}
	r.all = kept
	r.mu.Unlock()
	log.Printf("%d subscribers disconnected at offset %d; publishing %d", len(old), head, r.cfg.Missed)
	t0 := time.Now()
	missed := r.publishN(ctx, r.cfg.Rate, r.cfg.Missed)
	pubTime := time.Since(t0)
	target := head + missed.Published

	var livePS PubStats
	var liveTime time.Duration
	liveDone := make(chan struct{})
	if r.cfg.LiveRecovery {
		go func() {
			defer close(liveDone)
			t := time.Now()
			livePS = r.publish(ctx, r.cfg.Rate, r.cfg.Step)
			liveTime = time.Since(t)
		}()
	} else {
		close(liveDone)
	}
	tr := time.Now()
	failed := r.dialEach(ctx, len(old), "reconnect", func(i int) (int, error) { return old[i].slot, r.resume(ctx, old[i], target) })
	fresh := r.liveClients(classMain)
	deadline := tr.Add(r.cfg.RecoverWait)
	for ctx.Err() == nil && time.Now().Before(deadline) && !allRecovered(fresh) {
		time.Sleep(5 * time.Millisecond)
	}
	log.Printf("reconnected in %.2fs (%d failed); waiting for live publishing", time.Since(tr).Seconds(), failed)
	<-liveDone
	pubTime += liveTime
	r.drain(w)

	ps := PubStats{
		Published: missed.Published + livePS.Published,
		Requests:  missed.Requests + livePS.Requests,
		Errors:    missed.Errors + livePS.Errors,
		MaxLag:    max(missed.MaxLag, livePS.MaxLag),
	}
	res := r.end(ctx, w, "recovery", r.cfg.Rate, pubTime, ps)
	res.Missed, res.LivePublished = missed.Published, livePS.Published
	res.RecoverySubs, res.RecoverFailed = len(old), failed
	if r.reurl.String() != r.url.String() {
		res.ReconnectURL = r.reurl.String()
	}
	end := target + livePS.Published
	var hist Histogram
	var first, last int64
	var live uint64
	for _, c := range fresh {
		c.mu.Lock()
		p := *c.pos
		c.mu.Unlock()
		switch p.recovered {
		case 2:
			res.RecoveredTrue++
		case 1:
			res.RecoveredFalse++
		}
		if p.epochChanged {
			res.EpochChanged++
		}
		res.ReplayExpected += p.target - p.from
		res.ReplayDelivered += p.replayed
		live += p.live
		res.OffsetDups += p.dups
		res.NoOffset += p.noOffset
		res.OffsetLost += p.gaps
		if p.last < end {
			res.OffsetLost += end - p.last
		}
		if first == 0 || p.start < first {
			first = p.start
		}
		if p.doneAt == 0 {
			res.RecoveryIncomplete++
			continue
		}
		hist.Record(uint64(max(0, p.doneAt-p.start) / 1000))
		last = max(last, p.doneAt)
	}
	res.LiveDelivered = live
	res.Delivered = res.ReplayDelivered + live
	if res.Delivered > 0 && res.ServerCPUs > 0 {
		res.CPUPerDeliv = res.ServerCPUs * 1e6 / float64(res.Delivered)
	}
	if s := r.ad.ServerStats(ctx, r.hc); s != nil {
		res.ServerRecovered = num(s, "recovered") - num(w.stats, "recovered")
		res.ServerNotRecovered = num(s, "not_recovered") - num(w.stats, "not_recovered")
	}
	res.RecoveryP50Ms, res.RecoveryP99Ms = usMs(hist.Quantile(0.5)), usMs(hist.Quantile(0.99))
	res.RecoveryMaxMs = usMs(hist.Max())
	if last > 0 {
		res.RecoveryTotalMs = float64(last-first) / 1e6
	}
	pass := res.RecoveredTrue == res.RecoverySubs && res.RecoveryIncomplete == 0 && res.RecoverFailed == 0 &&
		res.OffsetLost == 0 && res.OffsetDups == 0 && res.NoOffset == 0 && res.Missing == 0 &&
		res.Duplicated == 0 && res.OutOfOrder == 0 && res.Unexpected == 0 && res.PubErrors == 0
	res.Pass = &pass
	if noPos > 0 {
		res.Note += fmt.Sprintf("%d subscriptions had no stream position: the server keeps no history for s5 (BROADCAST_HISTORY=s5=10000/5m); ", noPos)
	}
	if behind > 0 {
		res.Note += fmt.Sprintf("%d subscribers were behind offset %d when they disconnected; ", behind, head)
	}
	if missed.Errors > 0 {
		res.Note += fmt.Sprintf("%d of the missed publishes failed: the last offset expected (%d) may be wrong; ", missed.Errors, target)
	}
	if res.EpochChanged > 0 {
		res.Note += fmt.Sprintf("%d acknowledgements had another epoch than the since; ", res.EpochChanged)
	}
	if res.RecoverFailed > 0 {
		res.Note += fmt.Sprintf("%d subscribers failed to reconnect; ", res.RecoverFailed)
	}
	if n := res.RecoveryIncomplete - res.RecoverFailed; n > 0 {
		res.Note += fmt.Sprintf("%d reconnected subscribers had not received offset %d within %s; ", n, target, r.cfg.RecoverWait)
	}
	if r.cfg.RedisAddr != "" {
		res.Note += "Redis calls per publish include the recovering subscribers' history reads and subscriptions; "
	}
	return res
}

// allRecovered reports whether every connection in cs received what it
// missed, or closed.
func allRecovered(cs []*client) bool {
	for _, c := range cs {
		c.mu.Lock()
		done := c.pos.doneAt != 0 || c.closed
		c.mu.Unlock()
		if !done {
			return false
		}
	}
	return true
}
