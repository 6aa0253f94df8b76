package webhook

import "errors"

// Sentinel errors; the returned errors wrap them with the value concerned.
var (
	// ErrInvalidURL reports an endpoint URL that is not an absolute http or
	// https URL with a host.
	ErrInvalidURL = errors.New("webhook: invalid endpoint URL")
	// ErrUnknownEvent reports an event name in a filter that is not one of
	// Names.
	ErrUnknownEvent = errors.New("webhook: unknown event name")
	// ErrInvalidConfig reports any other invalid Config value (missing app
	// key or secret, negative limits, duplicate or too many endpoints) or
	// an invalid spec string.
	ErrInvalidConfig = errors.New("webhook: invalid config")
	// ErrInvalidEvent reports an Event that cannot be sent (see
	// Event.MarshalJSON).
	ErrInvalidEvent = errors.New("webhook: invalid event")
	// ErrBadSignature reports a request whose X-Pusher-Key or
	// X-Pusher-Signature does not match (see Verify).
	ErrBadSignature = errors.New("webhook: bad signature")
)
