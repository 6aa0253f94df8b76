package redisbroker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Wire format of a message on a Redis pub/sub channel (the channel name
// says which app channel it is for):
//
//	0xB7 0x01 … 0x04           magic, format
//	uvarint len, event         event name
//	uvarint len, except        socket id to skip ("" for none)
//	uvarint len, user id       sender of a client event ("" for none)
//	uvarint len, key           formats 3 and 4: the conflation key
//	uvarint presence version   format 2 only (Envelope.Version, then Epoch)
//	uvarint presence epoch
//	len byte, stream epoch     format 4 only: the publication's position,
//	len byte, decimal offset   written by the history script (history.go)
//	data                       the JSON payload, to the end
//
// It is built once per Publish and sent unchanged to every channel. Only
// presence member events use format 2 and only events with a conflation
// key format 3, so nodes of the previous release keep reading everything
// else during a rolling upgrade. Format 4 is for publications of channels
// with history; a stream entry stores the message in format 1 or 3.
const (
	wireMagic      = 0xB7
	wireVersion    = 1
	wireVersioned  = 2
	wireKeyed      = 3
	wirePositioned = 4
	maxUserID      = 1024
)

// encodePositionedHeader returns the format 4 header of m, up to its
// position, which the history script appends with the data.
func encodePositionedHeader(m *broker.Envelope) []byte {
	b := make([]byte, 0, 2+4*binary.MaxVarintLen16+len(m.Event)+len(m.Except)+len(m.UserID)+len(m.Conflate))
	b = append(b, wireMagic, wirePositioned)
	for _, s := range []string{m.Event, m.Except, m.UserID, m.Conflate} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errMalformed = errors.New("redisbroker: malformed message")

// encode returns the wire form of m.
func encode(m *broker.Envelope) []byte {
	b := make([]byte, 0, 2+4*binary.MaxVarintLen16+2*binary.MaxVarintLen64+len(m.Event)+len(m.Except)+len(m.UserID)+len(m.Conflate)+len(m.Data))
	format := byte(wireVersion)
	fields := []string{m.Event, m.Except, m.UserID}
	switch {
	case m.Version != 0:
		format = wireVersioned
	case m.Conflate != "":
		format = wireKeyed
		fields = append(fields, m.Conflate)
	}
	b = append(b, wireMagic, format)
	for _, s := range fields {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if m.Version != 0 {
		b = binary.AppendUvarint(b, m.Version)
		b = binary.AppendUvarint(b, m.Epoch)
	}
	return append(b, m.Data...)
}

// decode parses a message received on channel. It never panics; every
// failure wraps errMalformed.
func decode(channel, payload string) (*broker.Envelope, error) {
	if len(payload) < 2 || payload[0] != wireMagic || payload[1] < wireVersion || payload[1] > wirePositioned {
		return nil, fmt.Errorf("%w: unknown header", errMalformed)
	}
	rest := payload[2:]
	var fields [4]string
	limits := [4]int{broadcast.MaxEventLength, broadcast.MaxSocketIDLength, maxUserID, broadcast.MaxConflateKeyLength}
	nfields := 3
	if payload[1] >= wireKeyed {
		nfields = 4
	}
	for i := range nfields {
		n, k := uvarint(rest)
		if k <= 0 || n > uint64(limits[i]) || n > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: bad field %d", errMalformed, i)
		}
		fields[i] = rest[k : k+int(n)]
		rest = rest[k+int(n):]
	}
	if fields[0] == "" {
		return nil, fmt.Errorf("%w: empty event", errMalformed)
	}
	if fields[0] == broker.EventResync { // only a node's own subscriber makes one
		return nil, fmt.Errorf("%w: %s from the wire", errMalformed, broker.EventResync)
	}
	m := broker.New(channel, fields[0], nil)
	m.Except, m.UserID, m.Conflate = fields[1], fields[2], fields[3]
	if payload[1] == wireKeyed && m.Conflate == "" || !utf8.ValidString(m.Conflate) {
		return nil, fmt.Errorf("%w: bad conflation key", errMalformed)
	}
	if payload[1] == wireVersioned {
		v, k := uvarint(rest)
		if k <= 0 || v == 0 {
			return nil, fmt.Errorf("%w: bad presence version", errMalformed)
		}
		e, ke := uvarint(rest[k:])
		if ke <= 0 {
			return nil, fmt.Errorf("%w: bad presence epoch", errMalformed)
		}
		m.Version, m.Epoch, rest = v, e, rest[k+ke:]
	}
	if payload[1] == wirePositioned {
		var err error
		if rest, err = decodePosition(m, rest); err != nil {
			return nil, err
		}
	}
	return withData(m, rest)
}

// withData sets m's data to rest, which must be JSON in UTF-8 (or empty).
func withData(m *broker.Envelope, rest string) (*broker.Envelope, error) {
	if rest != "" {
		m.Data = json.RawMessage(rest)
		if !json.Valid(m.Data) || !utf8.Valid(m.Data) {
			return nil, fmt.Errorf("%w: data is not JSON in UTF-8", errMalformed)
		}
	}
	return m, nil
}

// decodePosition reads a format 4 position into m and returns the rest.
func decodePosition(m *broker.Envelope, rest string) (string, error) {
	var parts [2]string
	for i, limit := range [2]int{maxEpoch, 20} {
		if rest == "" || int(rest[0]) > limit || int(rest[0]) > len(rest)-1 || rest[0] == 0 {
			return "", fmt.Errorf("%w: bad stream position", errMalformed)
		}
		n := int(rest[0])
		parts[i], rest = rest[1:1+n], rest[1+n:]
	}
	off, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil || off == 0 || !utf8.ValidString(parts[0]) {
		return "", fmt.Errorf("%w: bad stream position", errMalformed)
	}
	m.Position = broker.Position{Offset: off, Epoch: parts[0]}
	return rest, nil
}

// uvarint is binary.Uvarint for a string, without a copy.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
