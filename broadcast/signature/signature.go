package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// App holds the credentials of one Pusher-style application. Every function in
// this package takes the App explicitly, so a server hosting several apps
// looks the right one up (by app ID or key) and passes it in.
type App struct {
	// ID is the application ID used in HTTP API paths (/apps/{id}/...).
	ID string
	// Key is the public application key. It is sent by clients in the
	// WebSocket URL, prefixes channel and user auth tokens and appears as
	// auth_key in signed HTTP API requests.
	Key string
	// Secret is the private HMAC-SHA256 key. It must never leave the server.
	Secret string
}

// Sentinel errors returned (wrapped with context) by the Verify functions.
// Test for them with errors.Is.
var (
	// ErrMalformedAuth reports a channel or user auth token that is not of
	// the form "key:signature" with a non-empty key and a signature of
	// exactly 64 lowercase hexadecimal digits.
	ErrMalformedAuth = errors.New("signature: malformed auth token")

	// ErrWrongKey reports a channel or user auth token whose key part is not
	// the app's key.
	ErrWrongKey = errors.New("signature: auth token key does not match app key")

	// ErrBadSignature reports a signature that does not match the one
	// computed with the app secret.
	ErrBadSignature = errors.New("signature: invalid signature")

	// ErrNoSecret reports verification against an App with an empty Secret.
	// Such an app could not tell genuine signatures from forged ones, so
	// every Verify function fails closed.
	ErrNoSecret = errors.New("signature: app has no secret")

	// ErrUnknownKey reports an HTTP API request whose auth_key is not the
	// app's key.
	ErrUnknownKey = errors.New("signature: unknown auth_key")

	// ErrStaleTimestamp reports an HTTP API request whose auth_timestamp is
	// outside the accepted window around the current time.
	ErrStaleTimestamp = errors.New("signature: auth_timestamp outside accepted window")

	// ErrBodyMD5 reports an HTTP API request whose body_md5 does not match
	// the MD5 of the received body.
	ErrBodyMD5 = errors.New("signature: body_md5 does not match body")

	// ErrMissingParam reports an HTTP API request lacking a required auth
	// parameter (auth_key, auth_timestamp, auth_version, auth_signature, or
	// body_md5 when the body is non-empty).
	ErrMissingParam = errors.New("signature: missing auth parameter")

	// ErrMalformedParam reports an HTTP API request with an unusable query:
	// a parameter given more than once (also after lowercasing its name), an
	// auth_timestamp that is not an integer, or an auth_version other than
	// "1.0".
	ErrMalformedParam = errors.New("signature: malformed query parameter")
)

// Sign returns the lowercase hexadecimal HMAC-SHA256 of message keyed with
// secret. It is the primitive every other function in this package builds on.
func Sign(secret, message string) string {
	return hex.EncodeToString(mac(secret, message))
}

func mac(secret, message string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(message))
	return h.Sum(nil)
}

// equalSig reports, in constant time with respect to the content, whether the
// hexadecimal signature got equals the one expected for message.
func equalSig(secret, message, got string) bool {
	want := Sign(secret, message)
	return hmac.Equal([]byte(want), []byte(got))
}

// isLowerHex64 reports whether s consists of exactly 64 lowercase hex digits,
// the textual form of a SHA-256 HMAC.
func isLowerHex64(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
