package redisbroker

import (
	"sync"

	"github.com/velocitykode/velocity/broadcast"
)

// local is this node's own entries in Redis, kept in memory: it is the
// state Redis must hold for this node, restored after Redis lost it or
// after a failed write. A lock per channel (only while the channel has
// work in progress) serializes a channel's Redis writes with its
// resynchronization; channels never wait for each other.
type local struct {
	mu       sync.Mutex
	locks    map[string]*channelLock                // channels with a write in progress
	presence map[string]map[string]broadcast.Member // channel → socket → member
	clients  map[string]map[string]struct{}         // channel → socket
	dirty    map[string]struct{}                    // channels to resync
}

func (l *local) init() {
	l.locks = make(map[string]*channelLock)
	l.presence = make(map[string]map[string]broadcast.Member)
	l.clients = make(map[string]map[string]struct{})
	l.dirty = make(map[string]struct{})
}

// channelLock serializes one channel's writes; refs counts its holders
// and waiters, so it is dropped when none is left.
type channelLock struct {
	sync.Mutex
	refs int
}

// lock takes channel's lock and returns its unlock function.
func (l *local) lock(channel string) (unlock func()) {
	l.mu.Lock()
	cl := l.locks[channel]
	if cl == nil {
		cl = &channelLock{}
		l.locks[channel] = cl
	}
	cl.refs++
	l.mu.Unlock()
	cl.Lock()
	return func() {
		cl.Unlock()
		l.mu.Lock()
		if cl.refs--; cl.refs == 0 {
			delete(l.locks, channel)
		}
		l.mu.Unlock()
	}
}

// setMember records (m non-nil) or forgets socket's membership.
func (l *local) setMember(channel, socket string, m *broadcast.Member) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.presence[channel]
	if m == nil {
		delete(set, socket)
		if len(set) == 0 {
			delete(l.presence, channel)
		}
		return
	}
	if set == nil {
		set = make(map[string]broadcast.Member)
		l.presence[channel] = set
	}
	set[socket] = *m
}

// setClient records (on) or forgets a subscriber.
func (l *local) setClient(channel, socket string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.clients[channel]
	if !on {
		delete(set, socket)
		if len(set) == 0 {
			delete(l.clients, channel)
		}
		return
	}
	if set == nil {
		set = make(map[string]struct{})
		l.clients[channel] = set
	}
	set[socket] = struct{}{}
}

// empty reports whether the node has no entry in channel.
func (l *local) empty(channel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.presence[channel]) == 0 && len(l.clients[channel]) == 0
}

// any reports whether the node has entries in some channel.
func (l *local) any() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.presence) > 0 || len(l.clients) > 0
}

// snapshot copies channel's entries.
func (l *local) snapshot(channel string) (map[string]broadcast.Member, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	members := make(map[string]broadcast.Member, len(l.presence[channel]))
	for s, m := range l.presence[channel] {
		members[s] = m
	}
	clients := make([]string, 0, len(l.clients[channel]))
	for s := range l.clients[channel] {
		clients = append(clients, s)
	}
	return members, clients
}

// channels returns every channel with entries.
func (l *local) channels() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(map[string]struct{}, len(l.presence)+len(l.clients))
	for ch := range l.presence {
		seen[ch] = struct{}{}
	}
	for ch := range l.clients {
		seen[ch] = struct{}{}
	}
	out := make([]string, 0, len(seen))
	for ch := range seen {
		out = append(out, ch)
	}
	return out
}

func (l *local) markDirty(channel string) {
	l.mu.Lock()
	l.dirty[channel] = struct{}{}
	l.mu.Unlock()
}

// takeDirty returns and clears the channels marked dirty.
func (l *local) takeDirty() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.dirty))
	for ch := range l.dirty {
		out = append(out, ch)
	}
	clear(l.dirty)
	return out
}
