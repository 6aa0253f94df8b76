package webhook

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// Sign returns the X-Pusher-Signature of body: the lowercase hexadecimal
// HMAC-SHA256 of the exact body bytes, keyed with the app secret.
func Sign(secret string, body []byte) string {
	return signature.Sign(secret, string(body))
}

// Verify checks a received webhook as a receiver should: Content-Type
// application/json, X-Pusher-Key equal to key and X-Pusher-Signature equal
// to Sign(secret, body), compared in constant time. It returns the
// decoded payload, or an error wrapping ErrBadSignature (wrong key or
// signature) or ErrInvalidEvent (not JSON, wrong content type).
func Verify(secret, key string, header http.Header, body []byte) (Payload, error) {
	if mt, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Payload{}, fmt.Errorf("%w: content type %q", ErrInvalidEvent, header.Get("Content-Type"))
	}
	if header.Get("X-Pusher-Key") != key {
		return Payload{}, fmt.Errorf("%w: unknown key %q", ErrBadSignature, header.Get("X-Pusher-Key"))
	}
	if !hmac.Equal([]byte(header.Get("X-Pusher-Signature")), []byte(Sign(secret, body))) {
		return Payload{}, fmt.Errorf("%w: signature does not match the body", ErrBadSignature)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Payload{}, fmt.Errorf("%w: body: %v", ErrInvalidEvent, err)
	}
	return p, nil
}
