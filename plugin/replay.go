package plugin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/routes"
)

// redisServer builds the redis driver's server, keeping its Redis client
// for the replay guard.
func (p *Plugin) redisServer(opts redisbroker.Options, wsOpts []websocket.Option) (*websocket.Server, error) {
	b, err := redisbroker.New(opts)
	if err != nil {
		return nil, err
	}
	all := slices.Concat(wsOpts, []websocket.Option{websocket.WithBroker(b), websocket.WithPresenceStore(b.Presence())})
	s, err := websocket.NewServer(p.cfg.WebSocket, all...)
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("redis driver: %w", err)
	}
	p.redis, p.redisKey = b.Client(), opts.Prefix
	return s, nil
}

// replayGuard is the guard of BROADCAST_PUSHER_REPLAY_PROTECTION: in
// Redis with the redis driver, so that a request replayed to another
// process is caught too; else in this process's memory.
func (p *Plugin) replayGuard() routes.ReplayGuard {
	switch {
	case !p.cfg.PusherReplayProtection || p.server == nil:
		return nil
	case p.redis != nil:
		return redisGuard{client: p.redis, prefix: p.redisKey + "pusher-replay:"}
	}
	return routes.MemoryReplayGuard(signature.NewReplayCache(p.cfg.PusherReplayCacheSize, 0))
}

// redisGuard records signatures with SET NX PX: the first process to see
// a signature sets its key, which expires when the request's timestamp
// leaves the window.
type redisGuard struct {
	client redis.UniversalClient
	prefix string
}

// Seen implements routes.ReplayGuard.
func (g redisGuard) Seen(ctx context.Context, sig string, signedAt time.Time) (bool, error) {
	ttl := max(time.Until(signedAt.Add(signature.DefaultTimestampWindow+time.Second)), time.Second)
	set, err := g.client.SetNX(ctx, g.prefix+sig, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	return !set, nil
}
