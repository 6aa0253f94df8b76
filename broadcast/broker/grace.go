package broker

import (
	"context"
	"time"
)

// GracefulPresence is implemented by presence stores that can hold a
// member's departure for a grace period, so that a user who comes back
// quickly (a page reload, a short network blip) never appears to leave.
// The websocket server uses it when its presence grace period is on.
//
// The contract, which brokertest.RunGrace checks, on top of the
// PresenceStore one:
//
//   - LeaveGrace of a user's last connection keeps the user a member,
//     with its departure pending until the deadline until, and reports
//     held. Other connections' leaves report false, as Leave does.
//   - A member whose departure is pending is a member like any other: it
//     is in every member list (Join, Members) and counts toward the cap
//     of a PresenceLimiter; it may always join again, even when the
//     channel is full.
//   - A Join of that user, from any node of a shared store, before the
//     departure is carried out cancels it: the join reports first false
//     and moves no presence version, as nothing changed for the other
//     members.
//   - ExpireGrace(channel, userID, until) carries out the departure held
//     with exactly that deadline: it removes the member and reports
//     removed with the version of the change. It reports false, changing
//     nothing, when the user joined again since, when a later departure
//     replaced that one, or when another call (on any node) already
//     carried it out; so of any number of calls for one departure, on
//     any number of nodes, exactly one reports removed. The store never
//     decides that a deadline passed: the caller does, and it may call
//     early.
//
// A caller that got held announces nothing at the leave; whoever gets
// removed from ExpireGrace announces the member_removed.
type GracefulPresence interface {
	PresenceStore
	// LeaveGrace is Leave that holds the departure of userID's last
	// connection until the deadline until (a non-zero time) instead of
	// removing the member: held reports that.
	LeaveGrace(ctx context.Context, channel, socketID, userID string, until time.Time) (held bool, err error)
	// ExpireGrace removes userID from channel if its departure with the
	// deadline until is still pending, reporting removed and the
	// presence version of the change.
	ExpireGrace(ctx context.Context, channel, userID string, until time.Time) (removed bool, version uint64, err error)
}

var _ GracefulPresence = (*MemoryPresence)(nil)

// LeaveGrace implements GracefulPresence: the member of a user whose last
// connection left stays, with no connection, until ExpireGrace or a Join.
func (p *MemoryPresence) LeaveGrace(_ context.Context, channel, socketID, userID string, until time.Time) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.channels[channel][userID]
	if u == nil {
		return false, nil
	}
	if _, ok := u.sockets[socketID]; !ok {
		return false, nil
	}
	delete(u.sockets, socketID)
	if len(u.sockets) > 0 {
		return false, nil
	}
	u.until = until
	return true, nil
}

// ExpireGrace implements GracefulPresence.
func (p *MemoryPresence) ExpireGrace(_ context.Context, channel, userID string, until time.Time) (bool, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.channels[channel]
	u := users[userID]
	if u == nil || len(u.sockets) > 0 || u.until.IsZero() || !u.until.Equal(until) {
		return false, 0, nil
	}
	delete(users, userID)
	if len(users) == 0 {
		delete(p.channels, channel)
	}
	return true, 0, nil
}
