package redisbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Presence is the cluster-wide broker.PresenceStore of a Broker: the
// members of each presence channel, per user id, with one reference per
// connection owned by the node holding it. Get it from Broker.Presence.
type Presence struct {
	b *Broker
}

// Join implements broker.PresenceStore. first is true when socketID
// is m.UserID's first connection to channel on any node.
func (p *Presence) Join(ctx context.Context, channel, socketID string, m broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	return p.JoinLimited(ctx, channel, socketID, m, 0)
}

// JoinLimited implements broker.PresenceLimiter: Join, refused with
// broker.ErrPresenceFull when m.UserID is not a member and channel has
// max members on the whole cluster (max 0: no cap). The count and the
// join are one atomic step in Redis.
func (p *Presence) JoinLimited(ctx context.Context, channel, socketID string, m broadcast.Member, max int) (bool, []broadcast.Member, uint64, error) {
	b := p.b
	defer b.local.lock(channel)()
	js, err := json.Marshal(m)
	if err != nil {
		return false, nil, 0, fmt.Errorf("redisbroker: presence join %q: %w", channel, err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	cmd, err := b.runScript(ctx, joinScript, b.keys.channelKeys(channel),
		[]any{socketID, b.node, m.UserID, js, max}, func(pipe redis.Pipeliner) {
			pipe.SAdd(ctx, b.keys.index(b.node), channel)
		})
	if err != nil {
		b.local.markDirty(channel) // the script may have run
		return false, nil, 0, fmt.Errorf("%w: presence join %q: %v", ErrUnavailable, channel, err)
	}
	res, ok := cmd.Val().([]any)
	if ok && len(res) == 2 {
		n, _ := res[1].(int64)
		return false, nil, 0, fmt.Errorf("%w: %q has %d members", broker.ErrPresenceFull, channel, n)
	}
	if !ok || len(res) != 3 {
		return false, nil, 0, fmt.Errorf("redisbroker: presence join %q: unexpected reply %T", channel, cmd.Val())
	}
	first, _ := res[0].(int64)
	flat, _ := res[1].([]any)
	all := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		k, _ := flat[i].(string)
		v, _ := flat[i+1].(string)
		all[k] = v
	}
	version, _ := res[2].(int64)
	b.local.setMember(channel, socketID, &m)
	return first == 1, parseMembers(all), uint64(version), nil
}

// Leave implements broker.PresenceStore. last is true when socketID
// was userID's last connection to channel on any node.
func (p *Presence) Leave(ctx context.Context, channel, socketID, _ string) (bool, uint64, error) {
	b := p.b
	defer b.local.lock(channel)()
	b.local.setMember(channel, socketID, nil)
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	cmd, err := b.runScript(ctx, leaveScript, b.keys.channelKeys(channel), []any{socketID}, func(pipe redis.Pipeliner) {
		if b.local.empty(channel) {
			pipe.SRem(ctx, b.keys.index(b.node), channel)
		}
	})
	if err != nil {
		b.local.markDirty(channel)
		return false, 0, fmt.Errorf("%w: presence leave %q: %v", ErrUnavailable, channel, err)
	}
	v, _ := cmd.Val().(int64)
	return v != 0, uint64(v), nil
}

// Members implements broker.PresenceStore.
func (p *Presence) Members(ctx context.Context, channel string) ([]broadcast.Member, error) {
	ctx, cancel := p.b.life.Call(ctx)
	defer cancel()
	all, err := p.b.client.HGetAll(ctx, p.b.keys.members(channel)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: presence members of %q: %v", ErrUnavailable, channel, err)
	}
	return parseMembers(all), nil
}

// parseMembers turns the members hash into members sorted by user id. A
// value that is not a member's JSON keeps only its user id.
func parseMembers(all map[string]string) []broadcast.Member {
	out := make([]broadcast.Member, 0, len(all))
	for id, js := range all {
		var m broadcast.Member
		if err := json.Unmarshal([]byte(js), &m); err != nil || m.UserID != id {
			m = broadcast.Member{UserID: id}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

// runScriptOnce is runScript, uncounted.
func (b *Broker) runScriptOnce(ctx context.Context, s *redis.Script, keys []string, args []any, pre func(redis.Pipeliner)) (*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		pipe := b.client.Pipeline()
		if pre != nil {
			pre(pipe)
		}
		var cmd *redis.Cmd
		if attempt == 0 {
			cmd = s.EvalSha(ctx, pipe, keys, args...)
		} else {
			cmd = s.Eval(ctx, pipe, keys, args...)
		}
		_, err := pipe.Exec(ctx)
		if attempt == 0 && isNoScript(cmd.Err()) {
			continue
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return cmd, err
		}
		return cmd, nil
	}
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}
