package natsbroker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Wire format of a message on a channel's subject (the subject says which
// channel it is for):
//
//	0xB8 0x01                  magic, format
//	uvarint len, event         event name
//	uvarint len, except        socket id to skip ("" for none)
//	uvarint len, user id       sender of a client event ("" for none)
//	uvarint len, key           the conflation key ("" for none)
//	uvarint presence version   Envelope.Version
//	uvarint presence epoch     Envelope.Epoch
//	data                       the JSON payload, to the end
//
// It is built once per Publish and sent unchanged to every channel.
const (
	wireMagic   = 0xB8
	wireVersion = 1
	maxUserID   = 1024
)

var errMalformed = errors.New("natsbroker: malformed message")

// encode returns the wire form of m.
func encode(m *broker.Envelope) []byte {
	b := make([]byte, 0, 2+4*binary.MaxVarintLen16+2*binary.MaxVarintLen64+len(m.Event)+len(m.Except)+len(m.UserID)+len(m.Conflate)+len(m.Data))
	b = append(b, wireMagic, wireVersion)
	for _, s := range [4]string{m.Event, m.Except, m.UserID, m.Conflate} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, m.Version)
	b = binary.AppendUvarint(b, m.Epoch)
	return append(b, m.Data...)
}

// decode parses a message received for channel. It never panics; every
// failure wraps errMalformed.
func decode(channel string, payload []byte) (*broker.Envelope, error) {
	if len(payload) < 2 || payload[0] != wireMagic || payload[1] != wireVersion {
		return nil, fmt.Errorf("%w: unknown header", errMalformed)
	}
	rest := payload[2:]
	var fields [4]string
	limits := [4]int{broadcast.MaxEventLength, broadcast.MaxSocketIDLength, maxUserID, broadcast.MaxConflateKeyLength}
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(limits[i]) || n > uint64(len(rest)-k) {
			return nil, fmt.Errorf("%w: bad field %d", errMalformed, i)
		}
		fields[i] = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	switch {
	case fields[0] == "":
		return nil, fmt.Errorf("%w: empty event", errMalformed)
	case fields[0] == broker.EventResync: // only a node's own subscriber makes one
		return nil, fmt.Errorf("%w: %s from the wire", errMalformed, broker.EventResync)
	case !utf8.ValidString(fields[3]):
		return nil, fmt.Errorf("%w: bad conflation key", errMalformed)
	}
	m := broker.New(channel, fields[0], nil)
	m.Except, m.UserID, m.Conflate = fields[1], fields[2], fields[3]
	for _, p := range []*uint64{&m.Version, &m.Epoch} {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return nil, fmt.Errorf("%w: bad presence version", errMalformed)
		}
		*p, rest = v, rest[k:]
	}
	if len(rest) > 0 {
		if !utf8.Valid(rest) || !json.Valid(rest) {
			return nil, fmt.Errorf("%w: data is not JSON in UTF-8", errMalformed)
		}
		m.Data = json.RawMessage(rest) // nats.go gives every message its own buffer
	}
	return m, nil
}
