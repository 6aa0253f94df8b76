package redisbroker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/engine"
)

// Held departures (broker.GracefulPresence).
//
// A departure held for a grace period lives in Redis, not in the node
// that held it: the user stays in the members hash, its refs entry is
// gone, and the channel's grace set (KEYS[6]) maps it to its deadline.
// A join from any node removes it from the set in the join script, so
// the rejoin and the cancellation are one atomic step. The expiry script
// removes the member only if the set still maps it to the very deadline
// it was given, and removes that entry in the same step: of all the
// nodes that try, exactly one carries a departure out.
//
// The node that held the departure expires it at its deadline (the
// websocket server's timer). So that a departure outlives its holder
// (SIGKILL, lost host), every held departure is also in an app-wide
// index (keys.graceIndex, "channel\nuser" → deadline), written in the
// pipeline of the leave itself. Every node's reaper sweeps the index
// for departures overdue by more than its period: their holder did not
// expire them in time, so the sweeping node does and publishes the
// member_removed. An index entry is dropped once its departure was
// carried out, cancelled or replaced, only if it still names the same
// deadline, so that the entry of a newer departure of the same user
// survives.

var _ broker.GracefulPresence = (*Presence)(nil)

// graceLeaveScript removes a connection and holds its user's departure
// when it was the user's last one. ARGV: socket, deadline (Unix µs). It
// returns 1 when it held the departure, else 0.
var graceLeaveScript = redis.NewScript(`
local entry = redis.call('HGET', KEYS[3], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
local user = string.sub(entry, string.find(entry, '\t', 1, true) + 1)
if redis.call('HINCRBY', KEYS[2], user, -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], user)
if redis.call('HEXISTS', KEYS[1], user) == 0 then return 0 end
redis.call('ZADD', KEYS[6], ARGV[2], user)
return 1
`)

// graceExpireScript carries out a held departure. ARGV: user, deadline
// (Unix µs). It returns the presence version of the removal, or 0 when
// the user has no departure held with that deadline.
var graceExpireScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[6], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[6], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local v` + bumpVersion + dropEmptyVersion + `return v
`)

// graceUnindexScript drops an index entry (KEYS[1] the index; ARGV:
// entry, deadline) unless it names another deadline by now.
var graceUnindexScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`)

// graceSweepBatch bounds the overdue departures one sweep handles; the
// next sweep takes the rest.
const graceSweepBatch = 256

// graceEntry is the index entry of userID's departure from channel.
// Channel names never contain a newline (broadcast.ValidateChannel).
func graceEntry(channel, userID string) string { return channel + "\n" + userID }

// LeaveGrace implements broker.GracefulPresence: Leave, except that the
// departure of userID's last connection on the whole cluster is held in
// Redis until the deadline until, cancelled by the user's next join on
// any node. Index and hold are written in one pipeline.
func (p *Presence) LeaveGrace(ctx context.Context, channel, socketID, userID string, until time.Time) (bool, error) {
	b := p.b
	defer b.local.lock(channel)()
	b.local.setMember(channel, socketID, nil)
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	at := until.UnixMicro()
	cmd, err := b.runScript(ctx, graceLeaveScript, b.keys.channelKeys(channel), []any{socketID, at}, func(pipe redis.Pipeliner) {
		// Indexed before the hold exists, so that no holder's death can
		// leave a hold nobody finds; an entry for a leave that held
		// nothing is dropped by the next sweep after its deadline.
		pipe.ZAdd(ctx, b.keys.graceIndex(), redis.Z{Score: float64(at), Member: graceEntry(channel, userID)})
		if b.local.empty(channel) {
			pipe.SRem(ctx, b.keys.index(b.node), channel)
		}
	})
	if err != nil {
		b.local.markDirty(channel)
		return false, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	held, _ := cmd.Val().(int64)
	return held == 1, nil
}

// ExpireGrace implements broker.GracefulPresence: one atomic script
// removes the member if its departure with the deadline until is still
// held, then the departure's index entry is dropped.
func (p *Presence) ExpireGrace(ctx context.Context, channel, userID string, until time.Time) (bool, uint64, error) {
	b := p.b
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	at := until.UnixMicro()
	cmd, err := b.runScript(ctx, graceExpireScript, b.keys.channelKeys(channel), []any{userID, at}, nil)
	if err != nil {
		return false, 0, fmt.Errorf("%w: presence expire %q of %q: %v", ErrUnavailable, userID, channel, err)
	}
	v, _ := cmd.Val().(int64)
	// The departure is done with (carried out, cancelled or replaced).
	// A failure here leaves an entry that a later sweep drops.
	if _, err := b.runScript(ctx, graceUnindexScript, []string{b.keys.graceIndex()}, []any{graceEntry(channel, userID), at}, nil); err != nil {
		b.log.Debug("redisbroker: drop grace index entry failed, a sweep will", "channel", channel, "err", err)
	}
	return v > 0, uint64(v), nil
}

// sweepGrace carries out the held departures overdue by more than a
// reaper period, whose holder did not (it died, or lost Redis), and
// publishes their member_removed. The expiry script decides: a departure
// that its holder or another sweeper carries out at the same time is
// announced once.
func (b *Broker) sweepGrace() {
	ctx, cancel := b.life.Call(context.Background())
	cutoff := time.Now().Add(-b.sched.Reap).UnixMicro()
	due, err := b.client.ZRangeByScoreWithScores(ctx, b.keys.graceIndex(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(cutoff, 10), Count: graceSweepBatch,
	}).Result()
	cancel()
	if err != nil {
		return // the heartbeat reports the outage
	}
	for _, z := range due {
		select {
		case <-b.life.Done():
			return
		default:
		}
		entry, _ := z.Member.(string)
		channel, userID, ok := strings.Cut(entry, "\n")
		if !ok {
			ctx, cancel := b.life.Call(context.Background())
			b.client.ZRem(ctx, b.keys.graceIndex(), entry)
			cancel()
			continue
		}
		removed, version, err := b.presence.ExpireGrace(context.Background(), channel, userID, time.UnixMicro(int64(z.Score)))
		if err != nil {
			b.log.Warn("redisbroker: expiring a held presence departure failed, will retry", "channel", channel, "err", err)
			return
		}
		if removed {
			ctx, cancel := b.life.Call(context.Background())
			b.announce(ctx, channel, engine.Sync{Removed: []string{userID}, Version: version})
			cancel()
			b.log.Info("redisbroker: removed a member whose departure its node did not carry out", "channel", channel)
		}
	}
}
