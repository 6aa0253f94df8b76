package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/drivers"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/routes"
)

// redisServer builds the redis driver's server; the replay guard keeps
// its signatures in that Redis.
func (p *Plugin) redisServer(opts redisbroker.Options, wsOpts []websocket.Option) (*websocket.Server, error) {
	b, err := redisbroker.New(opts)
	if err != nil {
		return nil, err
	}
	s, err := drivers.NewBrokerDriver(DriverRedis, p.cfg.WebSocket, b, b.Presence(), wsOpts...)
	if err == nil && p.cfg.PusherReplayProtection {
		p.sharedReplay = redisGuard{client: b.Client(), prefix: opts.Prefix + "pusher-replay:"}
	}
	return s, err
}

// natsServer builds the nats driver's server; the replay guard keeps its
// signatures in a JetStream key-value bucket.
func (p *Plugin) natsServer(opts natsbroker.Options, wsOpts []websocket.Option) (*websocket.Server, error) {
	b, err := natsbroker.New(opts)
	if err != nil {
		return nil, err
	}
	s, err := drivers.NewBrokerDriver(DriverNATS, p.cfg.WebSocket, b, b.Presence(), wsOpts...)
	if err == nil && p.cfg.PusherReplayProtection {
		// A request is accepted up to a window either side of its
		// timestamp, and a claim lives from when it was made: twice the
		// window covers a request signed a window ahead.
		claims, cerr := b.Claims("pusher-replay", 2*signature.DefaultTimestampWindow+time.Second)
		if cerr != nil {
			_ = s.Shutdown(context.Background())
			return nil, fmt.Errorf("nats driver: %w", cerr)
		}
		p.sharedReplay = natsGuard{claims}
	}
	return s, err
}

// replayGuard is the guard of BROADCAST_PUSHER_REPLAY_PROTECTION: in the
// engine with the redis and nats drivers, so that a request replayed to
// another process is caught too; else in this process's memory.
func (p *Plugin) replayGuard() routes.ReplayGuard {
	switch {
	case !p.cfg.PusherReplayProtection || p.server == nil:
		return nil
	case p.sharedReplay != nil:
		return p.sharedReplay
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

// natsGuard records signatures as claims: the first process to claim a
// signature wins.
type natsGuard struct{ claims *natsbroker.Claims }

// Seen implements routes.ReplayGuard.
func (g natsGuard) Seen(ctx context.Context, sig string, _ time.Time) (bool, error) {
	first, err := g.claims.Claim(ctx, sig)
	return !first, err
}
