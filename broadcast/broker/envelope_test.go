package broker_test

import (
	"errors"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// No application emit may forge one of the server's own events.
func TestServerEventsAreReserved(t *testing.T) {
	t.Parallel()
	for _, name := range []string{broker.EventMemberAdded, broker.EventMemberRemoved, broker.EventTerminate, broker.EventResync} {
		if err := broadcast.ValidateEvent(name); !errors.Is(err, broadcast.ErrReservedEvent) {
			t.Errorf("ValidateEvent(%q) = %v, want ErrReservedEvent", name, err)
		}
	}
}
