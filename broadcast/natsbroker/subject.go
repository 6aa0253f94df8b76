package natsbroker

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Channel names may hold any character, among them those NATS subjects
// forbid or give a meaning ('.', '*', '>', white space). Each channel
// travels on the subject PREFIX.c.TOKEN, where TOKEN is "x" followed by
// the unpadded base64url of the name: an injective mapping onto single
// subject tokens of A-Z a-z 0-9 - _ only, so that no name reaches another
// channel's subject or a wildcard. The same token is the channel's key
// part in the key-value buckets.

var channelEncoding = base64.RawURLEncoding.Strict()

var errBadToken = errors.New("natsbroker: not a channel token")

// channelToken returns the subject token and key part of channel.
func channelToken(channel string) string {
	b := make([]byte, 1+channelEncoding.EncodedLen(len(channel)))
	b[0] = 'x'
	channelEncoding.Encode(b[1:], []byte(channel))
	return string(b)
}

// tokenChannel is the inverse of channelToken. The decoder skips
// newlines even in strict mode, so a token is accepted only when it is
// exactly the token of what it decodes to.
func tokenChannel(token string) (string, error) {
	rest, ok := strings.CutPrefix(token, "x")
	if !ok {
		return "", errBadToken
	}
	b, err := channelEncoding.DecodeString(rest)
	if err != nil || channelToken(string(b)) != token {
		return "", errBadToken
	}
	return string(b), nil
}

// subjects names the subjects of one prefix.
type subjects struct{ base string } // "PREFIX.c."

func newSubjects(prefix string) subjects { return subjects{base: prefix + ".c."} }

// channel returns channel's subject.
func (s subjects) channel(channel string) string { return s.base + channelToken(channel) }

// parse returns the channel of a subject of s.
func (s subjects) parse(subject string) (string, error) {
	token, ok := strings.CutPrefix(subject, s.base)
	if !ok {
		return "", errBadToken
	}
	return tokenChannel(token)
}
