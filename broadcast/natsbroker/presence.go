package natsbroker

import (
	"context"
	"errors"
	"fmt"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// ErrNoPresence is wrapped by every call of NoPresence: this broker keeps
// no cluster-wide presence yet.
var ErrNoPresence = errors.New("natsbroker: presence channels are not available with NATS")

// NoPresence is the presence store of the NATS driver until presence on
// NATS exists: every call fails with ErrNoPresence, so a subscription to
// a presence channel is refused (error 4500, logged) instead of keeping
// members per process, which would show each process's members only.
type NoPresence struct{}

var _ broker.PresenceStore = NoPresence{}

// Join implements broker.PresenceStore; it always fails.
func (NoPresence) Join(_ context.Context, channel, _ string, _ broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	return false, nil, 0, fmt.Errorf("%w: join %q", ErrNoPresence, channel)
}

// Leave implements broker.PresenceStore; it always fails.
func (NoPresence) Leave(_ context.Context, channel, _, _ string) (bool, uint64, error) {
	return false, 0, fmt.Errorf("%w: leave %q", ErrNoPresence, channel)
}

// Members implements broker.PresenceStore; it always fails.
func (NoPresence) Members(_ context.Context, channel string) ([]broadcast.Member, error) {
	return nil, fmt.Errorf("%w: members of %q", ErrNoPresence, channel)
}
