package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

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
// overlap. A store that is also a GracefulPresence may keep a member
// whose last connection left for a grace period (see there).
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

// ErrPresenceFull is wrapped by the error of a JoinLimited that would add
// a member to a presence channel that has its maximum already.
var ErrPresenceFull = errors.New("broker: presence channel full")

// PresenceLimiter is implemented by presence stores that can cap a
// channel's members atomically (on every node at once for a shared
// store). JoinLimited is Join, except that when m.UserID is not a member
// yet and channel already has max members it changes nothing and returns
// an error wrapping ErrPresenceFull. A user who is a member may always
// join with another connection.
type PresenceLimiter interface {
	JoinLimited(ctx context.Context, channel, socketID string, m broadcast.Member, max int) (first bool, members []broadcast.Member, version uint64, err error)
}

var _ PresenceLimiter = (*MemoryPresence)(nil)

// MemoryPresence is the single-process PresenceStore. The zero value is
// not usable; build one with NewMemoryPresence.
type MemoryPresence struct {
	mu       sync.Mutex
	channels map[string]map[string]*presenceUser
}

type presenceUser struct {
	member  broadcast.Member
	sockets map[string]struct{}
	until   time.Time // deadline of the pending departure (no sockets left); see GracefulPresence
}

// NewMemoryPresence returns an empty in-memory presence store.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{channels: make(map[string]map[string]*presenceUser)}
}

// Join implements PresenceStore.
func (p *MemoryPresence) Join(ctx context.Context, channel, socketID string, m broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	return p.JoinLimited(ctx, channel, socketID, m, 0)
}

// JoinLimited implements PresenceLimiter; max 0 means no cap.
func (p *MemoryPresence) JoinLimited(_ context.Context, channel, socketID string, m broadcast.Member, max int) (bool, []broadcast.Member, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if users := p.channels[channel]; max > 0 && users[m.UserID] == nil && len(users) >= max {
		return false, nil, 0, fmt.Errorf("%w: %q has %d members", ErrPresenceFull, channel, len(users))
	}
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
	u.until = time.Time{} // a pending departure is cancelled
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
