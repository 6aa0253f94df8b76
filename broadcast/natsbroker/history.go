package natsbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Channel history (broker.Historian) lives in JetStream streams, one per
// retention: PREFIX_h_S<size>T<ttl ms> holds the subjects
// PREFIX.h.S<size>T<ttl ms>.TOKEN, keeps Size messages per subject for
// TTL, and republishes every stored message, in the order it stored them,
// on the channel's core subject PREFIX.c.TOKEN, where nodes receive it
// like any message. A publication's offset and epoch are headers of the
// stored message (Vb-Offset, Vb-Epoch): a Publish reads the channel's
// last message and stores the next offset with an expected last subject
// sequence, so of two concurrent publishers one wins and the other tries
// again: offsets are gapless, and no node sees n+1 before n. When the
// channel has no stored message left (never published to, expired as a
// whole, or NATS lost the stream) the next publication starts a new
// epoch at offset 1. A channel whose retention changes starts over in
// the new retention's stream.
const (
	hdrOffset = "Vb-Offset"
	hdrEpoch  = "Vb-Epoch"
	maxEpoch  = 64
)

var _ broker.Historian = (*Broker)(nil)

// histStreams caches the streams the node opened, per retention.
type histStreams struct {
	mu      sync.Mutex
	streams map[broker.Retention]jetstream.Stream
}

func retentionName(r broker.Retention) string {
	return "S" + strconv.Itoa(r.Size) + "T" + strconv.FormatInt(r.TTL.Milliseconds(), 10)
}

func (b *Broker) histStreamName(r broker.Retention) string {
	return b.opts.Prefix + "_h_" + retentionName(r)
}

func (b *Broker) histSubject(r broker.Retention, channel string) string {
	return b.opts.Prefix + ".h." + retentionName(r) + "." + channelToken(channel)
}

// histStream returns r's stream, creating it when create is set (else
// nil when it does not exist).
func (b *Broker) histStream(ctx context.Context, r broker.Retention, create bool) (jetstream.Stream, error) {
	h := &b.hist
	h.mu.Lock()
	st := h.streams[r]
	h.mu.Unlock()
	if st != nil {
		return st, nil
	}
	if r.Size < 1 || r.TTL < time.Millisecond {
		return nil, fmt.Errorf("natsbroker: retention %+v out of bounds", r)
	}
	name := b.histStreamName(r)
	st, err := b.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if !create {
			return nil, nil
		}
		src := b.opts.Prefix + ".h." + retentionName(r) + ".>"
		st, err = b.js.CreateStream(ctx, jetstream.StreamConfig{
			Name: name, Subjects: []string{src}, Storage: jetstream.FileStorage,
			MaxMsgsPerSubject: int64(r.Size), MaxAge: r.TTL, Discard: jetstream.DiscardOld,
			Duplicates: min(r.TTL, time.Second),
			RePublish:  &jetstream.RePublish{Source: src, Destination: b.opts.Prefix + ".c.>"},
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = b.js.Stream(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("history stream %s: %w", name, err)
	}
	h.mu.Lock()
	if h.streams == nil {
		h.streams = make(map[broker.Retention]jetstream.Stream)
	}
	h.streams[r] = st
	h.mu.Unlock()
	return st, nil
}

func (b *Broker) forgetStream(r broker.Retention) {
	b.hist.mu.Lock()
	delete(b.hist.streams, r)
	b.hist.mu.Unlock()
}

// publishHistory stores m as its channel's next publication; the stream
// republishes it to every node.
func (b *Broker) publishHistory(ctx context.Context, m *broker.Envelope) error {
	if len(m.Channels) != 1 {
		return fmt.Errorf("natsbroker: publish %q with history to %d channels, want 1", m.Event, len(m.Channels))
	}
	ch, r := m.Channels[0], *m.Retention
	fail := func(err error) error {
		return fmt.Errorf("%w: publish %q to %s with history: %v", ErrUnavailable, m.Event, ch, err)
	}
	if err := b.connected(); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	subj, payload := b.histSubject(r, ch), encode(m)
	recreated := false
	for attempt := 0; ; attempt++ {
		st, err := b.histStream(ctx, r, true)
		if err != nil {
			return fail(err)
		}
		var lastSeq uint64
		pos := broker.Position{Offset: 1, Epoch: newEpoch()}
		last, err := st.GetLastMsgForSubject(ctx, subj)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case errors.Is(err, jetstream.ErrStreamNotFound) && !recreated:
			b.forgetStream(r) // NATS lost it: create it again
			recreated = true
			continue
		case err != nil:
			return fail(err)
		default:
			prev, perr := positionOf(last.Header)
			if perr != nil {
				return fail(perr)
			}
			lastSeq, pos = last.Sequence, broker.Position{Offset: prev.Offset + 1, Epoch: prev.Epoch}
		}
		msg := nats.NewMsg(subj)
		msg.Data = payload
		msg.Header.Set(hdrOffset, strconv.FormatUint(pos.Offset, 10))
		msg.Header.Set(hdrEpoch, pos.Epoch)
		_, err = b.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(lastSeq))
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return fail(err)
		}
		if err := conflictBackoff(ctx, attempt); err != nil {
			return fail(err)
		}
	}
}

// History implements broker.Historian.
func (b *Broker) History(ctx context.Context, channel string, q broker.HistoryQuery) (broker.HistoryResult, error) {
	fail := func(err error) (broker.HistoryResult, error) {
		return broker.HistoryResult{}, fmt.Errorf("%w: history of %q: %v", ErrUnavailable, channel, err)
	}
	if err := b.connected(); err != nil {
		return fail(err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	r := q.Retention
	st, err := b.histStream(ctx, r, false)
	if err != nil || st == nil {
		if err != nil {
			return fail(err)
		}
		return broker.HistoryResult{}, nil // nothing stored, and reading stores nothing
	}
	subj := b.histSubject(r, channel)
	last, err := st.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			b.forgetStream(r)
		}
		return broker.HistoryResult{}, nil
	}
	if err != nil {
		return fail(err)
	}
	pos, err := positionOf(last.Header)
	if err != nil {
		return fail(err)
	}
	res := broker.HistoryResult{Position: pos}
	limit := q.Limit
	if limit == 0 || limit > r.Size {
		limit = r.Size
	}
	if limit < 0 || q.Recover && q.After >= pos.Offset {
		return res, nil
	}
	msgs, err := b.readSubject(ctx, st, subj, last.Sequence)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	for _, m := range msgs {
		age := now.Sub(m.Time)
		p, err := positionOf(m.Header)
		if err != nil || p.Epoch != pos.Epoch || age > r.TTL || q.Recover && p.Offset <= q.After {
			continue
		}
		e, err := decode(channel, m.Data)
		if err != nil {
			b.malformed(m.Subject, err)
			continue
		}
		e.Position = p
		res.Publications = append(res.Publications, e)
		res.Ages = append(res.Ages, max(age, 0))
	}
	if n := len(res.Publications); n > limit {
		if q.Recover { // the oldest after After
			res.Publications, res.Ages = res.Publications[:limit], res.Ages[:limit]
		} else { // the newest
			res.Publications, res.Ages = res.Publications[n-limit:], res.Ages[n-limit:]
		}
	}
	return res, nil
}

// readSubject returns subj's stored messages up to the stream sequence
// upTo, oldest first, through an ephemeral consumer deleted afterwards.
func (b *Broker) readSubject(ctx context.Context, st jetstream.Stream, subj string, upTo uint64) ([]*jetstream.RawStreamMsg, error) {
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: subj, AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		InactiveThreshold: 2 * b.opts.Timeout, MemoryStorage: true,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
		_ = st.DeleteConsumer(dctx, cons.CachedInfo().Name)
		cancel()
	}()
	want := int(cons.CachedInfo().NumPending) // may count messages stored after upTo
	out := make([]*jetstream.RawStreamMsg, 0, want)
	for got := 0; got < want; {
		batch, err := cons.Fetch(want-got, jetstream.FetchContext(ctx))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil || md.Sequence.Stream > upTo {
				continue
			}
			out = append(out, &jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data(), Time: md.Timestamp})
			if md.Sequence.Stream == upTo {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			break // expired meanwhile
		}
		got += n
	}
	return out, nil
}

// positionOf reads a stored or republished message's position.
func positionOf(h nats.Header) (broker.Position, error) {
	off, err := strconv.ParseUint(h.Get(hdrOffset), 10, 64)
	epoch := h.Get(hdrEpoch)
	if err != nil || off == 0 || epoch == "" || len(epoch) > maxEpoch || !utf8.ValidString(epoch) {
		return broker.Position{}, fmt.Errorf("%w: bad stream position", errMalformed)
	}
	return broker.Position{Offset: off, Epoch: epoch}, nil
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
