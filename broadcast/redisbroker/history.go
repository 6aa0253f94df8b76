package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Channel history lives in Redis, shared by every node: per channel a
// stream of its publications and a meta hash {o: last offset, e: epoch}.
// One script assigns the offset, appends to the stream (XADD with the
// offset as the entry id, MAXLEN = the size) and publishes, so a publish
// with history is one round trip and every node sees the offsets in the
// order Redis assigned them. Both keys expire TTL after the channel's
// last publication; a missing meta means the history was lost (Redis
// restarted empty, or it expired) and the next write starts a new epoch,
// deleting any stream left of the old one; until then a read answers
// offset 0 and no epoch, and writes nothing. Each entry holds the Redis
// time of its publication, and a read drops entries older than the TTL.
//
// Streams rather than a Lua-managed list: the entry id is the offset, so
// a recovery is one XRANGE from an exclusive id; Redis trims by size in
// the same XADD; and operators can inspect them with XINFO/XRANGE.
//
// On Redis Cluster the two keys share the hash tag of the channel's
// pub/sub partition, the same slot as its SPUBLISH channel, so one script
// may touch all three; without sharded pub/sub, the channel's own tag.

var _ broker.Historian = (*Broker)(nil)

// historyKeys returns the stream and meta keys of channel.
func (k keys) historyKeys(ch string) (stream, meta string) {
	base := k.prefix + "{" + ch + "}:history"
	if k.sharded {
		base = k.prefix + "{" + strconv.Itoa(k.partition(ch)) + "}:history:" + ch
	}
	return base + ":stream", base + ":meta"
}

// historyEpoch is the Lua that sets e to the channel's epoch, starting a
// new one (ARGV[1]) when the meta hash is missing. KEYS[1] stream,
// KEYS[2] meta.
const historyEpoch = `
local e = redis.call('HGET', KEYS[2], 'e')
if not e then
  e = ARGV[1]
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'e', e, 'o', 0)
end
`

// publishHistoryScript publishes with history. ARGV: new epoch, pub/sub
// channel, header of the positioned wire format, stored message, data,
// size, TTL in ms, "1" for SPUBLISH. It returns {offset, epoch}.
var publishHistoryScript = redis.NewScript(historyEpoch + `
local o = redis.call('HINCRBY', KEYS[2], 'o', 1)
local os = string.format('%d', o)
local t = redis.call('TIME')
local ms = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[6], os .. '-0', 't', ms, 'p', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
local msg = ARGV[3] .. string.char(#e) .. e .. string.char(#os) .. os .. ARGV[5]
if ARGV[8] == '1' then
  redis.call('SPUBLISH', ARGV[2], msg)
else
  redis.call('PUBLISH', ARGV[2], msg)
end
return {o, e}
`)

// readHistoryScript reads a channel's position and entries; it writes
// nothing, so reads cannot grow Redis. ARGV: count ("0": none), "r"
// (from the entry id ARGV[3] on) or "n" (newest), start id. It returns
// {offset, epoch, now in ms, entries}, {0, "", now, {}} for a channel
// without history; newest entries come newest first.
var readHistoryScript = redis.NewScript(`
local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local e = redis.call('HGET', KEYS[2], 'e')
if not e then return {0, '', now, {}} end
local o = tonumber(redis.call('HGET', KEYS[2], 'o'))
local items = {}
if ARGV[1] ~= '0' then
  if ARGV[2] == 'r' then
    items = redis.call('XRANGE', KEYS[1], ARGV[3], '+', 'COUNT', ARGV[1])
  else
    items = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
  end
end
return {o, e, now, items}
`)

// maxEpoch bounds an epoch read back from Redis (it must fit the wire's
// one-byte length).
const maxEpoch = 64

// publishHistory publishes m, which has Retention and one channel.
func (b *Broker) publishHistory(ctx context.Context, m *broker.Envelope) error {
	if len(m.Channels) != 1 {
		return fmt.Errorf("redisbroker: an envelope with history names one channel, not %d", len(m.Channels))
	}
	ch := m.Channels[0]
	stream, meta := b.keys.historyKeys(ch)
	sharded := "0"
	if b.keys.sharded {
		sharded = "1"
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	err := publishHistoryScript.Run(ctx, b.client, []string{stream, meta},
		newEpoch(), b.keys.pubsub(ch), encodePositionedHeader(m), encode(m), []byte(m.Data),
		m.Retention.Size, m.Retention.TTL.Milliseconds(), sharded).Err()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", b.opts.Timeout, err)
		}
		return fmt.Errorf("%w: publish %q to %s with history%s: %v", ErrUnavailable, m.Event, ch, b.servedBy(m.Channels), err)
	}
	return nil
}

// history is History, uncounted.
func (b *Broker) history(ctx context.Context, channel string, q broker.HistoryQuery) (broker.HistoryResult, error) {
	stream, meta := b.keys.historyKeys(channel)
	count := q.Limit
	if count == 0 || count > q.Retention.Size {
		count = q.Retention.Size
	}
	if count < 0 {
		count = 0
	}
	mode, start := "n", ""
	if q.Recover {
		mode = "r"
		if q.After == math.MaxUint64 {
			count = 0 // nothing can follow it
		} else {
			start = strconv.FormatUint(q.After+1, 10) + "-0"
		}
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	raw, err := readHistoryScript.Run(ctx, b.client, []string{stream, meta}, count, mode, start).Slice()
	if err != nil {
		return broker.HistoryResult{}, fmt.Errorf("%w: read history of %s: %v", ErrUnavailable, channel, err)
	}
	return parseHistory(channel, raw, q)
}

// parseHistory turns the read script's answer into a result, dropping
// entries older than the TTL.
func parseHistory(channel string, raw []any, q broker.HistoryQuery) (broker.HistoryResult, error) {
	bad := func(what string) (broker.HistoryResult, error) {
		return broker.HistoryResult{}, fmt.Errorf("%w: history of %s: %s", errMalformed, channel, what)
	}
	if len(raw) != 4 {
		return bad("reply shape")
	}
	offset, ok1 := raw[0].(int64)
	epoch, ok2 := raw[1].(string)
	nowText, ok3 := raw[2].(string)
	entries, ok4 := raw[3].([]any)
	now, err := strconv.ParseInt(nowText, 10, 64)
	if !ok1 || !ok2 || !ok3 || !ok4 || err != nil || offset < 0 || epoch == "" && (offset != 0 || len(entries) != 0) || len(epoch) > maxEpoch {
		return bad("reply fields")
	}
	res := broker.HistoryResult{Position: broker.Position{Offset: uint64(offset), Epoch: epoch}}
	cutoff := now - q.Retention.TTL.Milliseconds()
	for _, e := range entries {
		p, at, err := parseEntry(channel, e, epoch)
		if err != nil {
			return broker.HistoryResult{}, err
		}
		if at < cutoff {
			continue
		}
		res.Publications = append(res.Publications, p)
		res.Ages = append(res.Ages, time.Duration(now-at)*time.Millisecond)
	}
	if !q.Recover { // XREVRANGE: newest first
		slices.Reverse(res.Publications)
		slices.Reverse(res.Ages)
	}
	return res, nil
}

// parseEntry decodes one stream entry: id "<offset>-0", fields t, p.
func parseEntry(channel string, e any, epoch string) (*broker.Envelope, int64, error) {
	bad := fmt.Errorf("%w: history entry of %s", errMalformed, channel)
	pair, ok := e.([]any)
	if !ok || len(pair) != 2 {
		return nil, 0, bad
	}
	id, _ := pair[0].(string)
	fields, _ := pair[1].([]any)
	offText, ok := strings.CutSuffix(id, "-0")
	off, err := strconv.ParseUint(offText, 10, 64)
	if !ok || err != nil || off == 0 || len(fields) != 4 {
		return nil, 0, bad
	}
	var at int64 = -1
	var payload string
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		switch k {
		case "t":
			at, err = strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, 0, bad
			}
		case "p":
			payload = v
		}
	}
	m, err := decode(channel, payload)
	if err != nil || at < 0 || m.Position.Offset != 0 {
		return nil, 0, fmt.Errorf("%w: %v", bad, err)
	}
	m.Position = broker.Position{Offset: off, Epoch: epoch}
	return m, at, nil
}

// newEpoch returns a fresh epoch for a channel whose history starts over.
func newEpoch() string { return strconv.FormatUint(rand.Uint64(), 36) }
