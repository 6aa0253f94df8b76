package signature

import (
	"encoding/hex"
	"sync"
	"time"
)

// DefaultReplayCacheSize is the capacity of a ReplayCache built with a
// size <= 0: about 3 MiB, enough for 100 signed requests per second over
// a ±600 s window.
const DefaultReplayCacheSize = 65536

// ReplayCache remembers the signatures of recent HTTP API requests so that
// each signed request is accepted once: a request signed at auth_timestamp
// ts stays valid until ts+window, and so is remembered until then.
//
// Memory is bounded: the cache holds at most its capacity of entries
// (about 48 bytes each), allocated as it fills. When it is full, the
// oldest entry makes room, and from then on every request signed at or
// before that entry's timestamp is reported as seen: the cache can no
// longer tell it from a replay, and it must be signed again. With enough
// capacity for the request rate over the window this never happens.
//
// Seen is O(1) and safe for concurrent use. The cache is per process;
// processes behind one load balancer need a shared store instead.
type ReplayCache struct {
	window time.Duration
	size   int

	mu      sync.Mutex
	seen    map[replayKey]struct{}
	ring    []replayEntry // insertion order; head is the oldest
	head    int
	n       int
	horizon int64 // requests signed at or before it are refused (unix s)
}

type replayKey [16]byte

type replayEntry struct {
	key      replayKey
	signedAt int64
}

// NewReplayCache returns a cache of size entries (DefaultReplayCacheSize
// when <= 0) for requests accepted within ±window of their timestamp
// (DefaultTimestampWindow when <= 0): the window given to VerifyRequest.
func NewReplayCache(size int, window time.Duration) *ReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	if window <= 0 {
		window = DefaultTimestampWindow
	}
	return &ReplayCache{window: window, size: size, seen: make(map[replayKey]struct{})}
}

// Seen records the request whose auth_signature is sig (a signature
// VerifyRequest accepted) and whose auth_timestamp is signedAt, and
// reports whether it was recorded before: the request is a replay and
// must be refused. now is the server's time.
func (c *ReplayCache) Seen(sig string, signedAt, now time.Time) bool {
	var k replayKey
	if len(sig) >= 2*len(k) {
		_, _ = hex.Decode(k[:], []byte(sig[:2*len(k)]))
	} else {
		copy(k[:], sig)
	}
	ts := signedAt.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now.Unix())
	if _, dup := c.seen[k]; dup || ts <= c.horizon {
		return true
	}
	if c.n == c.size {
		oldest := c.ring[c.head]
		c.horizon = max(c.horizon, oldest.signedAt)
		c.drop()
		if ts <= c.horizon {
			return true
		}
	}
	if c.ring == nil {
		c.ring = make([]replayEntry, 0, min(c.size, 1024))
	}
	tail := (c.head + c.n) % c.size
	if tail == len(c.ring) {
		c.ring = append(c.ring, replayEntry{})
	}
	c.ring[tail] = replayEntry{k, ts}
	c.n++
	c.seen[k] = struct{}{}
	return false
}

// Len returns the number of requests remembered.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// expire drops the oldest entries whose requests no longer pass the
// timestamp check. Entries are dropped in insertion order, so an entry
// may outlive its window behind an older one; that only costs memory.
func (c *ReplayCache) expire(now int64) {
	limit := now - int64(c.window/time.Second) - 1
	for c.n > 0 && c.ring[c.head].signedAt < limit {
		c.drop()
	}
}

func (c *ReplayCache) drop() {
	delete(c.seen, c.ring[c.head].key)
	c.ring[c.head] = replayEntry{}
	c.head = (c.head + 1) % c.size
	c.n--
}
