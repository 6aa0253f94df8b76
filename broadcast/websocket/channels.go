package websocket

import (
	"context"
	"sort"
	"strings"
	"sync"
)

// OccupiedChannels returns the sorted names of the channels with at least
// one subscriber on this node whose names start with prefix. Internal user
// channels are left out. With several nodes it lists this node's channels
// only (the brokers keep no cluster-wide channel list).
func (s *Server) OccupiedChannels(_ context.Context, prefix string) ([]string, error) {
	var out []string
	for _, ch := range s.hub.Channels() {
		if strings.HasPrefix(ch, prefix) && !isUserChannel(ch) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out, nil
}

// SubscriptionCount returns the number of connections subscribed to
// channel: on the whole cluster when the broker is a ClientRegistry, else
// on this node.
func (s *Server) SubscriptionCount(_ context.Context, channel string) (int, error) {
	return len(s.GetClients(channel)), nil
}

// PresenceUserIDs returns the distinct user ids of a presence channel's
// members, sorted, from the presence store.
func (s *Server) PresenceUserIDs(ctx context.Context, channel string) ([]string, error) {
	members, err := s.presence.Members(ctx, channel)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	return ids, nil
}

// Disconnect closes the local connection with socketID after flushing
// what is queued: an error frame with code and message, then a close frame
// with code (a Pusher client gets the Pusher equivalent of a native-only
// code). Use 4200 to make clients reconnect at once. It reports whether the
// connection is on this node.
func (s *Server) Disconnect(socketID string, code int, message string) bool {
	c := s.sockets.get(socketID)
	if c == nil {
		return false
	}
	c.closeWithError(protoErr(code, nil, "%s", message), message, true)
	return true
}

// socketIndex finds a local connection by socket id. It is sharded so
// that connects and disconnects on many cores seldom contend; the zero
// value is ready.
type socketIndex struct {
	shards [32]struct {
		mu sync.RWMutex
		m  map[string]*client
	}
}

func (x *socketIndex) shard(id string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % uint32(len(x.shards)))
}

func (x *socketIndex) add(c *client) {
	sh := &x.shards[x.shard(c.id)]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = make(map[string]*client)
	}
	sh.m[c.id] = c
	sh.mu.Unlock()
}

func (x *socketIndex) remove(c *client) {
	sh := &x.shards[x.shard(c.id)]
	sh.mu.Lock()
	if sh.m[c.id] == c {
		delete(sh.m, c.id)
	}
	sh.mu.Unlock()
}

func (x *socketIndex) get(id string) *client {
	sh := &x.shards[x.shard(id)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.m[id]
}
