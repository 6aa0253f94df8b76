//go:build unix

package enginebench

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/internal/testenv"
)

// engine is one distributed engine: how to run a server of its own for a
// benchmark and how to build a node's broker on it.
type engine struct {
	name string
	// server starts the engine's server for t and returns its URL.
	server func(t testing.TB) string
	// broker builds a node's broker on url; trips counts what the node
	// sends to the engine (used for the emitting node only).
	broker func(t testing.TB, url, prefix string, trips *tripCounter) (broker.Broker, broker.PresenceStore)
}

// tripCounter counts what one node sends its engine. trips are requests
// the node waits on a reply for: Redis commands or pipelines, NATS PINGs
// (a Publish ends with a flush, which is a PING/PONG). msgs are Redis
// commands (a pipeline counts its commands) or NATS messages published
// (read from the connection's statistics by snapshot).
type tripCounter struct {
	trips, msgs atomic.Int64
	conn        *nats.Conn
}

// snapshot returns the counts so far.
func (c *tripCounter) snapshot() (trips, msgs int64) {
	msgs = c.msgs.Load()
	if c.conn != nil {
		msgs = int64(c.conn.Stats().OutMsgs)
	}
	return c.trips.Load(), msgs
}

var quiet = slog.New(slog.DiscardHandler)

var engines = []engine{
	{
		name:   "redis",
		server: func(t testing.TB) string { return testenv.StartRedis(t).URL() },
		broker: func(t testing.TB, url, prefix string, trips *tripCounter) (broker.Broker, broker.PresenceStore) {
			opts := redisbroker.Options{URL: url, Prefix: prefix, Logger: quiet}
			if trips != nil {
				o, err := redis.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				c := redis.NewClient(o)
				c.AddHook(redisHook{trips})
				t.Cleanup(func() { c.Close() })
				opts.Client = c
			}
			br, err := redisbroker.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			return br, br.Presence()
		},
	},
	{
		name:   "nats",
		server: func(t testing.TB) string { return testenv.StartNATS(t).URL() },
		broker: func(t testing.TB, url, prefix string, trips *tripCounter) (broker.Broker, broker.PresenceStore) {
			opts := natsbroker.Options{URL: url, Prefix: prefix, Logger: quiet}
			if trips != nil {
				opts.NATS = []nats.Option{nats.SetCustomDialer(pingDialer{trips})}
			}
			br, err := natsbroker.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if trips != nil {
				trips.conn = br.Conn()
			}
			return br, br.Presence()
		},
	},
}

// redisHook is a go-redis hook counting commands and round trips.
type redisHook struct{ c *tripCounter }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.c.msgs.Add(1)
		h.c.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.c.msgs.Add(int64(len(cmds)))
		h.c.trips.Add(1)
		return next(ctx, cmds)
	}
}

// pingDialer dials NATS connections that count the PINGs they write.
type pingDialer struct{ c *tripCounter }

func (d pingDialer) Dial(network, address string) (net.Conn, error) {
	nc, err := (&net.Dialer{Timeout: 5 * time.Second}).Dial(network, address)
	if err != nil {
		return nil, err
	}
	return pingConn{nc, d.c}, nil
}

// pingConn counts "PING\r\n" in what it writes (the benchmark's payloads
// never contain it).
type pingConn struct {
	net.Conn
	c *tripCounter
}

var ping = []byte("PING\r\n")

func (p pingConn) Write(b []byte) (int, error) {
	p.c.trips.Add(int64(bytes.Count(b, ping)))
	return p.Conn.Write(b)
}
