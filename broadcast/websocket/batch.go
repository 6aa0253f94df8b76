package websocket

import (
	"context"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Joins of one channel with history share a stream read.
//
// A join to a channel with history reads the channel's stream inside its
// window, on its executor. When many subscribers come back at once (a
// node restarted, a network came back) they would each read in turn while
// the channel's live publications wait. Instead, the joins of a
// non-presence, non-cache channel with history that wait for the
// executor form a batch: one step subscribes the node if needed, opens
// the window, reads the stream once after the oldest since of the batch
// (the stream never holds more than its size, so that read holds every
// joiner's part), and puts each joiner in the hub with its own
// acknowledgement and replay, answering it at once, before closing the
// window. The replayed frames are encoded once per codec and shared by
// the batch's joiners.

// pendingJoin is a join waiting in its channel's batch.
type pendingJoin struct {
	ctx  context.Context
	c    *client
	sub  *subscription
	done chan *ProtocolError
}

// batched reports whether a join to ch goes through a batch.
func (s *Server) batched(ch string, sub *subscription) bool {
	return sub.member == nil && !broadcast.IsCache(ch) && s.retention(ch) != nil
}

// enqueueBatched adds pj to its channel's batch, queueing the batch's
// step when pj is its first joiner. It reports false when maxChannelOps
// joins already wait on the channel.
func (s *Server) enqueueBatched(ch string, pj *pendingJoin) bool {
	i := s.stripe(ch)
	mu := &s.stripes.mu[i]
	mu.Lock()
	defer mu.Unlock()
	st := s.stateLocked(i, ch)
	if st.joins >= maxChannelOps {
		return false
	}
	st.joins++
	st.batch = append(st.batch, pj)
	if len(st.batch) == 1 {
		s.enqueueLocked(i, ch, st, func() { s.runBatch(i, ch, st) })
	}
	return true
}

// runBatch is the executor step of a channel's batch of joins.
func (s *Server) runBatch(i int, ch string, st *chanState) {
	mu := &s.stripes.mu[i]
	mu.Lock()
	batch := st.batch
	st.batch = nil
	st.joins -= len(batch)
	mu.Unlock()
	live := batch[:0]
	for _, pj := range batch {
		if err := pj.ctx.Err(); err != nil {
			pj.done <- protoErr(CodeInternal, err, "subscription unavailable, retry later")
			continue
		}
		live = append(live, pj)
	}
	if len(live) == 0 {
		return
	}
	ret := s.retention(ch)
	if ret == nil || len(live) == 1 {
		for _, pj := range live { // the rules changed, or nothing to share
			pj.done <- s.joinRemote(pj.ctx, pj.c, pj.sub)
		}
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
	defer cancel()
	fail := func(perr *ProtocolError) {
		for _, pj := range live {
			pj.done <- perr
		}
	}
	if subscribed, _ := s.nodeState(ch); !subscribed {
		if err := s.broker.Subscribe(ctx, ch); err != nil {
			s.logger.Error("websocket: broker subscribe failed", "channel", ch, "err", err)
			fail(protoErr(CodeInternal, err, "subscription unavailable, retry later"))
			return
		}
		s.setSubscribed(ch, true)
	}
	s.openWindow(ch)
	q := broker.HistoryQuery{Retention: *ret, Limit: -1}
	for _, pj := range live {
		if sn := pj.sub.since; sn != nil && !pj.sub.overRate && (!q.Recover || sn.Offset < q.After) {
			q.Recover, q.After, q.Limit = true, sn.Offset, 0
		}
	}
	res, err := s.readHistory(ctx, ch, q)
	if err != nil {
		s.closeWindow(ch)
		s.logger.Error("websocket: history read failed", "channel", ch, "err", err)
		fail(protoErr(CodeInternal, err, "history unavailable, retry later"))
		return
	}
	// Each joiner enters the hub, with its acknowledgement and replay,
	// and is answered as soon as its own frames are built; the window
	// stays open until the last is in, so live publications still follow
	// every joiner's replay.
	frames := newReplayFrames(res)
	s.notePosition(ch, res.Position)
	for _, pj := range live {
		rec := s.recoveryFrom(pj.c, pj.sub, res, false, frames)
		fs := append([][]byte{pj.c.proto.SubscribedStream(ch, nil, rec.stream)}, rec.frames...)
		s.hub.AddAndSendFrom(ch, pj.c, fs, 0, rec.pos)
		s.addClient(pj.c, pj.sub)
		pj.done <- nil
	}
	s.closeWindow(ch)
}
