package signature

import (
	"crypto/subtle"
	"fmt"
	"strings"
)

// channelMessage returns the string to sign for channel authorization:
// "socket_id:channel", or "socket_id:channel:channel_data" when channelData
// is non-empty.
func channelMessage(socketID, channel, channelData string) string {
	if channelData == "" {
		return socketID + ":" + channel
	}
	return socketID + ":" + channel + ":" + channelData
}

// userMessage returns the string to sign for user authentication:
// "socket_id::user::user_data".
func userMessage(socketID, userData string) string {
	return socketID + "::user::" + userData
}

// ChannelAuth returns the auth token "key:hexsig" authorizing the connection
// socketID to subscribe to channel.
//
// For private and private-encrypted channels pass an empty channelData; the
// string to sign is then "socketID:channel". For presence channels pass the
// exact channel_data JSON string that will be returned to the client (for
// example {"user_id":"10","user_info":{...}}); the string to sign is then
// "socketID:channel:channelData". The shared_secret of encrypted channels is
// not part of the signature.
//
// ChannelAuth signs its inputs as given. Callers must first check that
// socketID is valid (see [ValidSocketID]) and that channel is a valid channel
// name (which never contains ':'), as the Pusher SDKs do; otherwise a token
// for one string to sign could pass as a token for another.
func ChannelAuth(app App, socketID, channel, channelData string) string {
	return app.Key + ":" + Sign(app.Secret, channelMessage(socketID, channel, channelData))
}

// VerifyChannelAuth checks the auth token a client sent in pusher:subscribe
// against the socket ID of the connection it arrived on, the channel name and
// the channel_data string exactly as received (empty for non-presence
// channels).
//
// It returns nil when auth equals ChannelAuth(app, socketID, channel,
// channelData), and otherwise an error wrapping ErrMalformedAuth, ErrWrongKey,
// ErrBadSignature or ErrNoSecret. Signatures are compared in constant time.
//
// A socketID or channel containing ':' is always rejected with
// ErrBadSignature, since it would make the string to sign ambiguous.
func VerifyChannelAuth(app App, auth, socketID, channel, channelData string) error {
	if strings.ContainsRune(socketID, ':') || strings.ContainsRune(channel, ':') {
		return fmt.Errorf("channel %q: %w: socket id or channel name contains ':'", channel, ErrBadSignature)
	}
	if err := verifyToken(app, auth, channelMessage(socketID, channel, channelData)); err != nil {
		return fmt.Errorf("channel %q: %w", channel, err)
	}
	return nil
}

// UserAuth returns the auth token "key:hexsig" for a pusher:signin of the
// connection socketID as the user described by userData, the exact user_data
// JSON string returned to the client (it must contain a string "id"). The
// string to sign is "socketID::user::userData". As with [ChannelAuth], check
// socketID with [ValidSocketID] first.
func UserAuth(app App, socketID, userData string) string {
	return app.Key + ":" + Sign(app.Secret, userMessage(socketID, userData))
}

// VerifyUserAuth checks the auth token a client sent in pusher:signin against
// the socket ID of its connection and the user_data string exactly as
// received.
//
// It returns nil when auth equals UserAuth(app, socketID, userData), and
// otherwise an error wrapping ErrMalformedAuth, ErrWrongKey, ErrBadSignature
// or ErrNoSecret. Signatures are compared in constant time.
//
// A socketID containing ':' is always rejected with ErrBadSignature.
func VerifyUserAuth(app App, auth, socketID, userData string) error {
	if strings.ContainsRune(socketID, ':') {
		return fmt.Errorf("user signin: %w: socket id contains ':'", ErrBadSignature)
	}
	if err := verifyToken(app, auth, userMessage(socketID, userData)); err != nil {
		return fmt.Errorf("user signin: %w", err)
	}
	return nil
}

// verifyToken checks a "key:hexsig" token against app and the string to sign.
func verifyToken(app App, auth, message string) error {
	if app.Secret == "" {
		return ErrNoSecret
	}
	// The signature never contains ':', so split at the last colon; this
	// keeps working should a key ever contain one.
	i := strings.LastIndexByte(auth, ':')
	if i < 0 {
		return fmt.Errorf("%w: expected key:signature", ErrMalformedAuth)
	}
	key, sig := auth[:i], auth[i+1:]
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrMalformedAuth)
	}
	if !isLowerHex64(sig) {
		return fmt.Errorf("%w: signature must be 64 lowercase hex digits", ErrMalformedAuth)
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(app.Key)) != 1 {
		return ErrWrongKey
	}
	if !equalSig(app.Secret, message, sig) {
		return ErrBadSignature
	}
	return nil
}

// ValidSocketID reports whether socketID has the form the Pusher protocol
// requires, ^\d+\.\d+$ (ASCII digits, one dot, digits). The Pusher SDKs
// refuse to sign for any other socket ID; an auth endpoint should reject the
// request before calling [ChannelAuth] or [UserAuth].
func ValidSocketID(socketID string) bool {
	dot := strings.IndexByte(socketID, '.')
	return dot > 0 && allDigits(socketID[:dot]) && allDigits(socketID[dot+1:])
}

// allDigits reports whether s is non-empty and made of ASCII digits only.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
