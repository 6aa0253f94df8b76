package broadcast

import "errors"

// Sentinel errors. Callers branch on them with errors.Is; the returned
// errors wrap them with the channel or event concerned.
var (
	// ErrInvalidChannel reports a channel name outside the protocol's rules:
	// 1–200 characters of A-Z a-z 0-9 _ - = @ , . ;
	ErrInvalidChannel = errors.New("broadcast: invalid channel name")
	// ErrNoChannels reports an emit with no channel at all.
	ErrNoChannels = errors.New("broadcast: no channels")
	// ErrReservedEvent reports an event name the wire protocols reserve
	// (connected, ping, pong, error, subscribe, unsubscribe, refresh,
	// refreshed, subscription_*, member_*, client-*, pusher:*, pusher_internal:*).
	ErrReservedEvent = errors.New("broadcast: reserved event name")
	// ErrInvalidEvent reports an empty or over-long event name.
	ErrInvalidEvent = errors.New("broadcast: invalid event name")
	// ErrInvalidConflateKey reports a conflation key over
	// MaxConflateKeyLength bytes or not valid UTF-8.
	ErrInvalidConflateKey = errors.New("broadcast: invalid conflation key")
	// ErrEncode reports a payload that could not be encoded as JSON.
	ErrEncode = errors.New("broadcast: encode payload")
	// ErrForbidden reports a subscription the authorizer refused, or one
	// that no authorizer allowed (deny by default).
	ErrForbidden = errors.New("broadcast: channel forbidden")
	// ErrUnauthenticated reports a private or presence subscription
	// without a user.
	ErrUnauthenticated = errors.New("broadcast: no authenticated user")
	// ErrNotConfigured reports use of Default() before a driver was set.
	ErrNotConfigured = errors.New("broadcast: default broadcaster has no driver (call plugin.New or broadcast.SetDefault)")
	// ErrNoPresence reports a Members call on a driver that keeps no
	// presence members (the log and null drivers).
	ErrNoPresence = errors.New("broadcast: driver keeps no presence members")
	// ErrClosed reports use of a driver after Shutdown.
	ErrClosed = errors.New("broadcast: closed")
)
