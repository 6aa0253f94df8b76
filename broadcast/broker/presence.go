package broker

import (
	"context"
	"sort"
	"sync"

	"github.com/velocitykode/velocity/broadcast"
)

// PresenceStore keeps the members of presence channels: per channel, per
// user id, the set of connections of that user. A user is a member while
// at least one of its connections is subscribed.
//
// The contract, which brokertest.RunPresence checks: Join reports first
// only for a user's first connection to the channel and Leave reports last
// only for its last one; member lists are sorted by user id and hold the
// newest connection's user info; versions are 0 when the store orders its
// changes itself (one process) or else grow with every membership change
// of the channel (see Envelope.Version). Calls for one channel never
// overlap.
type PresenceStore interface {
	// Join adds socketID as a connection of m.UserID. It reports whether
	// this is the user's first connection to channel and returns the
	// members after the join with the channel's presence version.
	Join(ctx context.Context, channel, socketID string, m broadcast.Member) (first bool, members []broadcast.Member, version uint64, err error)
	// Leave removes socketID. It reports whether it was userID's last
	// connection to channel, and the presence version of that change.
	Leave(ctx context.Context, channel, socketID, userID string) (last bool, version uint64, err error)
	// Members returns channel's members sorted by user id.
	Members(ctx context.Context, channel string) ([]broadcast.Member, error)
}

// MemoryPresence is the single-process PresenceStore. The zero value is
// not usable; build one with NewMemoryPresence.
type MemoryPresence struct {
	mu       sync.Mutex
	channels map[string]map[string]*presenceUser
}

type presenceUser struct {
	member  broadcast.Member
	sockets map[string]struct{}
}

// NewMemoryPresence returns an empty in-memory presence store.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{channels: make(map[string]map[string]*presenceUser)}
}

// Join implements PresenceStore.
func (p *MemoryPresence) Join(_ context.Context, channel, socketID string, m broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.channels[channel]
	if users == nil {
		users = make(map[string]*presenceUser)
		p.channels[channel] = users
	}
	u := users[m.UserID]
	first := u == nil
	if first {
		u = &presenceUser{sockets: make(map[string]struct{}, 1)}
		users[m.UserID] = u
	}
	u.member = m // the newest connection's info wins
	u.sockets[socketID] = struct{}{}
	return first, membersOf(users), 0, nil
}

// Leave implements PresenceStore.
func (p *MemoryPresence) Leave(_ context.Context, channel, socketID, userID string) (bool, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.channels[channel]
	u := users[userID]
	if u == nil {
		return false, 0, nil
	}
	if _, ok := u.sockets[socketID]; !ok {
		return false, 0, nil
	}
	delete(u.sockets, socketID)
	if len(u.sockets) > 0 {
		return false, 0, nil
	}
	delete(users, userID)
	if len(users) == 0 {
		delete(p.channels, channel)
	}
	return true, 0, nil
}

// Members implements PresenceStore.
func (p *MemoryPresence) Members(_ context.Context, channel string) ([]broadcast.Member, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return membersOf(p.channels[channel]), nil
}

func membersOf(users map[string]*presenceUser) []broadcast.Member {
	out := make([]broadcast.Member, 0, len(users))
	for _, u := range users {
		out = append(out, u.member)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}
