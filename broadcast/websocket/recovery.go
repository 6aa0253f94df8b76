package websocket

import (
	"context"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
)

// CodeNoHistory (4412) answers a history request on a channel that keeps
// no history.
const CodeNoHistory = protocol.CodeNoHistory

// HistoryRequestRate is how many history requests one connection may make
// per second (with a burst of as many); more are refused with 4301.
const HistoryRequestRate = 5

// RecoveryRate is how many subscribes with a since one connection may make
// per second (with a burst of as many, enough for a reconnect that
// resubscribes many channels); past it, a since is answered
// recovered:false without reading the stream, so that resubscribing in a
// loop cannot make the server replay histories over and over.
const RecoveryRate = 50

// historyCodec is a codec that answers history requests (the native one).
type historyCodec interface {
	History(channel string, pubs []*broker.Envelope, pos protocol.Position) []byte
}

// recovery is what a subscription to a channel with history starts with:
// what its acknowledgement says, the position from which it gets live
// publications, and the replayed ones.
type recovery struct {
	stream protocol.Stream
	pos    broker.Position
	frames [][]byte
}

// recover reads the channel's stream for a joining subscription, inside
// the channel's window: the position and, for a subscribe with a since,
// every retained publication after it when the stream still holds them
// all (else recovered is false and nothing is replayed).
func (s *Server) recover(ctx context.Context, c *client, sub *subscription, ret broker.Retention) (recovery, *ProtocolError) {
	ch := sub.channel
	cache := broadcast.IsCache(ch)
	q := broker.HistoryQuery{Retention: ret, Limit: -1}
	if cache {
		q.Limit = 1
	}
	if sub.since != nil && !sub.overRate {
		q = broker.HistoryQuery{Retention: ret, Recover: true, After: sub.since.Offset}
	}
	res, err := s.readHistory(ctx, ch, q)
	if err != nil {
		s.logger.Error("websocket: history read failed", "channel", ch, "err", err)
		return recovery{}, protoErr(CodeInternal, err, "history unavailable, retry later")
	}
	return s.recoveryFrom(c, sub, res, cache, nil), nil
}

// recoveryFrom is what a joining subscription gets from a read of its
// channel's stream that holds, at least, every retained publication after
// its since. Replayed frames come from frames when given (joins sharing
// res share them), else are encoded for c.
func (s *Server) recoveryFrom(c *client, sub *subscription, res broker.HistoryResult, cache bool, frames *replayFrames) recovery {
	ch := sub.channel
	rec := recovery{
		pos:    res.Position,
		stream: protocol.Stream{History: true, Position: protocol.Position{Offset: res.Position.Offset, Epoch: res.Position.Epoch}},
	}
	if sub.since == nil {
		rec.frames = s.cachedFrame(c, ch, cache, res)
		return rec
	}
	rec.stream.Recovery = true
	view := res
	i := 0
	for i < len(view.Publications) && view.Publications[i].Position.Offset <= sub.since.Offset {
		i++
	}
	view.Publications = view.Publications[i:]
	if sub.overRate || !covers(view, broker.Position{Offset: sub.since.Offset, Epoch: sub.since.Epoch}) {
		s.stats.notRecovered.Add(1)
		rec.frames = s.cachedFrame(c, ch, cache, res)
		return rec
	}
	s.stats.recovered.Add(1)
	rec.stream.Recovered = true
	rec.frames = make([][]byte, 0, len(view.Publications))
	for k, p := range view.Publications {
		if p.Except == c.id {
			continue
		}
		if frames != nil {
			rec.frames = append(rec.frames, frames.frame(c, ch, i+k))
		} else {
			rec.frames = append(rec.frames, c.proto.EncodeEvent(ch, p))
		}
	}
	return rec
}

// replayFrames are the event frames of one stream read, each encoded
// once per codec on first use and shared, read-only, by the joins that
// replay it (as the hub shares a delivery's frames).
type replayFrames struct {
	pubs   []*broker.Envelope
	byCode [][][]byte // codec index → publication index → frame
}

func newReplayFrames(res broker.HistoryResult) *replayFrames {
	return &replayFrames{pubs: res.Publications}
}

// frame is the frame of publication i of the read in c's codec.
func (f *replayFrames) frame(c *client, ch string, i int) []byte {
	k := c.Codec()
	if k >= len(f.byCode) {
		f.byCode = append(f.byCode, make([][][]byte, k+1-len(f.byCode))...)
	}
	if f.byCode[k] == nil {
		f.byCode[k] = make([][]byte, len(f.pubs))
	}
	fr := f.byCode[k][i]
	if fr == nil {
		fr = c.proto.EncodeEvent(ch, f.pubs[i])
		f.byCode[k][i] = fr
	}
	return fr
}

// cachedFrame is what a new subscriber of a cache channel gets after the
// acknowledgement: the channel's last event, or a cache miss.
func (s *Server) cachedFrame(c *client, ch string, cache bool, res broker.HistoryResult) [][]byte {
	if !cache {
		return nil
	}
	if n := len(res.Publications); n > 0 && res.Publications[n-1].Position == res.Position {
		return [][]byte{c.proto.EncodeEvent(ch, res.Publications[n-1])}
	}
	s.stats.cacheMisses.Add(1)
	if s.wants(broadcast.CacheMiss) {
		s.notify(broadcast.LifecycleEvent{Kind: broadcast.CacheMiss, SocketID: c.id, Channel: ch})
	}
	return [][]byte{c.proto.CacheMiss(ch)}
}

// notePosition records pos as the node's position of channel when the
// node has none yet (its first subscriber joined).
func (s *Server) notePosition(channel string, pos broker.Position) {
	i := s.stripe(channel)
	s.stripes.mu[i].Lock()
	if st := s.stateLocked(i, channel); st.pos.Epoch == "" {
		st.pos = pos
	}
	s.stripes.mu[i].Unlock()
}

// subscribedFrame acknowledges a subscription that needs no stream read:
// on a channel without history, a since is answered with recovered:false.
func (c *client) subscribedFrame(sub *subscription) []byte {
	if sub.since == nil {
		return c.proto.Subscribed(sub.channel, nil)
	}
	return c.proto.SubscribedStream(sub.channel, nil, protocol.Stream{Recovery: true})
}

// historyRequest answers a history frame with the channel's last
// cmd.Limit publications (every retained one for 0).
func (s *Server) historyRequest(c *client, cmd protocol.Command) {
	ch := cmd.Channel
	hc, ok := c.proto.codec.(historyCodec)
	switch {
	case !ok:
		c.sendError(protoErr(CodeUnknownType, nil, "history is not part of this protocol"), ch)
		return
	case c.subs[ch] == nil:
		c.sendError(protoErr(CodeNotSubscribed, nil, "not subscribed to %s", protocol.Truncate(ch)), ch)
		return
	case !c.historyLimit.allow(HistoryRequestRate, s.clock.Now()):
		s.metrics.limitedHistory.Add(1)
		c.sendError(protoErr(CodeRateLimited, nil, "history request rate limit exceeded (%d/s)", HistoryRequestRate), ch)
		return
	}
	ret := s.retention(ch)
	if ret == nil {
		c.sendError(protoErr(CodeNoHistory, nil, "channel %s keeps no history", protocol.Truncate(ch)), ch)
		return
	}
	c.goRemote(func() {
		res, err := s.readHistory(c.ctx, ch, broker.HistoryQuery{Retention: *ret, Limit: cmd.Limit})
		if err != nil {
			s.logger.Warn("websocket: history read failed", "channel", ch, "err", err)
			c.sendError(protoErr(CodeInternal, err, "history unavailable, retry later"), ch)
			return
		}
		// An event-sized answer: it takes the path of events, bounded by
		// the queue's burst cap, not the small room of control frames.
		c.Send(hc.History(ch, res.Publications, protocol.Position{Offset: res.Position.Offset, Epoch: res.Position.Epoch}))
	})
}
