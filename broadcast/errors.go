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
	// refreshed, subscription_*, member_*, history, cache_miss, client-*,
	// pusher:*, pusher_internal:*).
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
	// ErrEncryptedChannels reports an event to an encrypted channel
	// (private-encrypted-…) that also goes to other channels: each
	// encrypted channel has its own key, so such an event must be sent to
	// each channel on its own, as the Pusher SDKs require.
	ErrEncryptedChannels = errors.New("broadcast: an event to an encrypted channel must go to that channel only")
	// ErrNoMasterKey reports an encrypted channel (subscription,
	// authorization or emit) while no encryption master key is set.
	ErrNoMasterKey = errors.New("broadcast: encrypted channels need an encryption master key (BROADCAST_ENCRYPTION_MASTER_KEY)")
	// ErrInvalidMasterKey reports an encryption master key that is not
	// MasterKeySize bytes long.
	ErrInvalidMasterKey = errors.New("broadcast: invalid encryption master key")
	// ErrNotEncrypted reports data published to an encrypted channel that
	// is not an encrypted payload ({"nonce":…,"ciphertext":…}).
	ErrNotEncrypted = errors.New("broadcast: data to an encrypted channel is not encrypted")
	// ErrClosed reports use of a driver after Shutdown.
	ErrClosed = errors.New("broadcast: closed")
)
