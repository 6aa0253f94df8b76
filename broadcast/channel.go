package broadcast

import (
	"fmt"
	"strings"
	"time"
)

// Channel-name prefixes that select the channel type.
const (
	PrivatePrefix          = "private-"
	PrivateEncryptedPrefix = "private-encrypted-"
	PresencePrefix         = "presence-"
	// ClientEventPrefix starts the names of events sent by clients (whispers).
	ClientEventPrefix = "client-"
)

// MaxChannelLength is the longest channel name accepted, prefix included.
const MaxChannelLength = 200

// MaxEventLength is the longest event name accepted.
const MaxEventLength = 200

// MaxConflateKeyLength is the longest conflation key accepted.
const MaxConflateKeyLength = 200

// Kind is the type of a channel, chosen by its name's prefix.
type Kind uint8

// Channel kinds.
const (
	KindPublic Kind = iota
	KindPrivate
	KindPresence
)

// Former names of the channel kinds.
//
// Deprecated: use KindPublic, KindPrivate and KindPresence; these names
// will be removed in the next release.
const (
	Public       = KindPublic
	PrivateKind  = KindPrivate
	PresenceKind = KindPresence
)

// String returns "public", "private" or "presence".
func (k Kind) String() string {
	switch k {
	case KindPrivate:
		return "private"
	case KindPresence:
		return "presence"
	}
	return "public"
}

// KindOf returns the kind of the channel named name.
func KindOf(name string) Kind {
	switch {
	case strings.HasPrefix(name, PresencePrefix):
		return KindPresence
	case strings.HasPrefix(name, PrivatePrefix):
		return KindPrivate
	}
	return KindPublic
}

// RequiresAuth reports whether subscribing to the named channel needs
// authorization (private-, private-encrypted- and presence- channels).
func RequiresAuth(name string) bool { return KindOf(name) != KindPublic }

// ValidateChannel returns an error wrapping ErrInvalidChannel unless name is
// 1–200 characters of A-Z a-z 0-9 _ - = @ , . ;
func ValidateChannel(name string) error {
	if name == "" || len(name) > MaxChannelLength {
		return fmt.Errorf("%w: %q must be 1-%d characters", ErrInvalidChannel, truncate(name), MaxChannelLength)
	}
	for i := 0; i < len(name); i++ {
		if !channelByte[name[i]] {
			return fmt.Errorf("%w: %q contains %q", ErrInvalidChannel, truncate(name), name[i])
		}
	}
	return nil
}

// reservedEvents are the native protocol's frame types; an emitted event of
// one of these names would be indistinguishable from a control frame.
var reservedEvents = map[string]bool{
	"connected": true, "pong": true, "ping": true, "error": true,
	"subscribe": true, "unsubscribe": true, "refresh": true, "refreshed": true,
	"subscription_succeeded": true, "subscription_error": true, "subscription_count": true,
	"member_added": true, "member_removed": true,
	"history": true, "cache_miss": true,
}

// ValidateEvent returns an error wrapping ErrReservedEvent or
// ErrInvalidEvent unless name may be emitted from the server.
func ValidateEvent(name string) error {
	if name == "" || len(name) > MaxEventLength {
		return fmt.Errorf("%w: %q must be 1-%d bytes", ErrInvalidEvent, truncate(name), MaxEventLength)
	}
	if reservedEvents[name] || strings.HasPrefix(name, ClientEventPrefix) ||
		strings.HasPrefix(name, "pusher:") || strings.HasPrefix(name, "pusher_internal:") {
		return fmt.Errorf("%w: %q", ErrReservedEvent, name)
	}
	return nil
}

var channelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-=@,.;" {
		t[c] = true
	}
	return t
}()

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Cache channels keep their last event for new subscribers: cache-,
// private-cache-, private-encrypted-cache- and presence-cache-.
const (
	CachePrefix = "cache-"
	// DefaultCacheTTL is how long a cache channel keeps its last event
	// unless a history rule for the channel says otherwise.
	DefaultCacheTTL = 30 * time.Minute
)

// IsCache reports whether the named channel is a cache channel.
func IsCache(name string) bool {
	switch {
	case strings.HasPrefix(name, CachePrefix):
		return true
	case !strings.Contains(name, "-"+CachePrefix):
		return false // the common case: one scan, no prefix tested
	}
	for _, p := range [...]string{PrivatePrefix, PrivateEncryptedPrefix, PresencePrefix} {
		if strings.HasPrefix(name, p+CachePrefix) {
			return true
		}
	}
	return false
}
