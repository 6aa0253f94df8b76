package redisbroker

import (
	"hash/fnv"
	"strconv"
)

// keys names everything the broker stores in Redis. The per-channel keys
// share the hash tag {channel}, so one Lua script may touch all of them
// on Redis Cluster.
type keys struct {
	prefix  string
	sharded bool
	parts   int
}

// members is the hash user id → member JSON of a presence channel.
func (k keys) members(ch string) string { return k.prefix + "{" + ch + "}:presence:members" }

// refs is the hash user id → number of the user's connections.
func (k keys) refs(ch string) string { return k.prefix + "{" + ch + "}:presence:refs" }

// conns is the hash socket id → "node\tuser id" of a presence channel.
func (k keys) conns(ch string) string { return k.prefix + "{" + ch + "}:presence:conns" }

// clients is the hash socket id → node of every subscriber of a channel.
func (k keys) clients(ch string) string { return k.prefix + "{" + ch + "}:clients" }

// version is the hash {v: last membership change, e: epoch} of a
// presence channel, in microseconds of Redis time (see scripts.go).
func (k keys) version(ch string) string { return k.prefix + "{" + ch + "}:presence:version" }

// grace is the sorted set user id → deadline (Unix microseconds) of the
// held departures of a presence channel (see grace.go).
func (k keys) grace(ch string) string { return k.prefix + "{" + ch + "}:presence:grace" }

// channelKeys are the KEYS of the presence and sync scripts.
func (k keys) channelKeys(ch string) []string {
	return []string{k.members(ch), k.refs(ch), k.conns(ch), k.clients(ch), k.version(ch), k.grace(ch)}
}

// graceIndex is the sorted set "channel\nuser id" → deadline of every held
// departure of the app, where any node finds those whose holder died.
func (k keys) graceIndex() string { return k.prefix + "presence:grace" }

// heartbeat is the node's liveness key, refreshed with a TTL.
func (k keys) heartbeat(node string) string { return k.prefix + "node:" + node }

// index is the set of channels where node has entries.
func (k keys) index(node string) string { return k.prefix + "node:" + node + ":channels" }

// nodes is the set of registered node ids.
func (k keys) nodes() string { return k.prefix + "nodes" }

// partition returns the pub/sub partition of channel: FNV-1a, the same on
// every node.
func (k keys) partition(ch string) int {
	if k.parts <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(ch))
	return int(h.Sum32() % uint32(k.parts))
}

// channelPrefix is what precedes the app channel name in the pub/sub
// channels of partition p.
func (k keys) channelPrefix(p int) string {
	if k.sharded {
		return k.prefix + "{" + strconv.Itoa(p) + "}:ch:"
	}
	return k.prefix + "ch:"
}

// pubsub is the Redis pub/sub channel of app channel ch.
func (k keys) pubsub(ch string) string { return k.channelPrefix(k.partition(ch)) + ch }
