package broadcast

import (
	"sync"
	"sync/atomic"
)

var (
	defaultOnce sync.Once
	defaultB    atomic.Pointer[Broadcaster]
)

// Default returns the process-wide broadcaster behind the package-level
// helpers. Until a driver is set (plugin.New does it, or SetDefault or
// Default().SetDriver), its Emit returns ErrNotConfigured; hooks set on it
// before then are kept.
func Default() *Broadcaster {
	defaultOnce.Do(func() {
		if defaultB.Load() == nil {
			defaultB.CompareAndSwap(nil, New(nil))
		}
	})
	return defaultB.Load()
}

// SetDefault makes b the broadcaster behind the package-level helpers.
func SetDefault(b *Broadcaster) {
	defaultOnce.Do(func() {})
	defaultB.Store(b)
}

// Channel starts a broadcast on Default() to public channels.
func Channel(names ...string) *PendingBroadcast { return Default().Channel(names...) }

// Private starts a broadcast on Default() to private channels.
func Private(names ...string) *PendingBroadcast { return Default().Private(names...) }

// Presence starts a broadcast on Default() to presence channels.
func Presence(names ...string) *PendingBroadcast { return Default().Presence(names...) }

// Dispatch broadcasts an Event through Default().
func Dispatch(e Event) error { return Default().Dispatch(e) }

// DispatchToOthers broadcasts an Event through Default(), leaving out socketID.
func DispatchToOthers(e Event, socketID string) error {
	return Default().DispatchToOthers(e, socketID)
}

// SetAuthorizer sets the authorizer of Default().
func SetAuthorizer(fn func(channel string, user interface{}) bool) {
	Default().SetAuthorizer(fn)
}

// SetPresenceData sets the presence-data hook of Default().
func SetPresenceData(fn func(channel string, user interface{}) interface{}) {
	Default().SetPresenceData(fn)
}

// Authorize registers a channel route on Default().
func Authorize(pattern string, fn ChannelAuthFunc) { Default().Authorize(pattern, fn) }

// GetClients returns the socket ids subscribed to channel on Default().
func GetClients(channel string) []string { return Default().GetClients(channel) }
