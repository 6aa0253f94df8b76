package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/velocitykode/velocity/broadcast"
)

// A presence channel's whole state is one value of the PREFIX_presence
// bucket, key p.TOKEN, changed only by compare-and-set on its revision:
// every Join, Leave, held departure and expiry is one atomic step, on any
// node. Held departures also have a key h.TOKEN.UTOKEN (UTOKEN: the user
// id encoded as a channel token), whose value is the deadline, so that
// survivors find the departures a dead node held (grace.go).
//
// The version moves with every membership change: the node's clock in
// microseconds, or the last version plus one when that is not later. The
// epoch is the version at which the value was created; the value is
// deleted with its last member (and last connection), so a missing value
// always means a new epoch.
type presenceDoc struct {
	V       uint64                     `json:"v"`
	E       uint64                     `json:"e"`
	Members map[string]json.RawMessage `json:"m"`           // user → member JSON
	Conns   map[string]presenceConn    `json:"c"`           // socket → owner
	Held    map[string]int64           `json:"h,omitempty"` // user → deadline (Unix µs)
}

type presenceConn struct {
	Node string `json:"n"`
	User string `json:"u"`
}

func presenceKey(token string) string { return "p." + token }
func heldKey(token, user string) string {
	return "h." + token + "." + channelToken(user)
}

func (d *presenceDoc) empty() bool { return len(d.Members) == 0 && len(d.Conns) == 0 }

// bump moves the version forward.
func (d *presenceDoc) bump() {
	v := uint64(time.Now().UnixMicro())
	if v <= d.V {
		v = d.V + 1
	}
	if d.E == 0 {
		d.E = v
	}
	d.V = v
}

// conns counts user's connections.
func (d *presenceDoc) conns(user string) int {
	n := 0
	for _, c := range d.Conns {
		if c.User == user {
			n++
		}
	}
	return n
}

// members returns the members sorted by user id. A value that is not a
// member's JSON keeps only its user id.
func (d *presenceDoc) members() []broadcast.Member {
	out := make([]broadcast.Member, 0, len(d.Members))
	for id, js := range d.Members {
		var m broadcast.Member
		if err := json.Unmarshal(js, &m); err != nil || m.UserID != id {
			m = broadcast.Member{UserID: id}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

// errNoChange ends an edit that changes nothing.
var errNoChange = errors.New("no change")

// editPresence applies fn to channel's state and writes the result by
// compare-and-set, again on a conflict. fn returns errNoChange to write
// nothing (editPresence then returns nil), or another error to abort. The
// doc passed to fn is fresh on every attempt.
func editPresence(ctx context.Context, kv jetstream.KeyValue, channel string, fn func(d *presenceDoc) error) (*presenceDoc, error) {
	return editPresenceWithin(ctx, kv, channel, 0, fn)
}

// errPresenceSize ends an edit whose state would pass its limit.
var errPresenceSize = errors.New("presence state over its size limit")

// joinLimit is the most bytes a join may take a presence state to on a
// server of maxPayload: a sixteenth below it, so that the edits that
// shrink or barely change a state (departures, held departures, a
// resync) always fit.
func joinLimit(maxPayload int64) int { return int(maxPayload - maxPayload/16) }

// editPresenceWithin is editPresence, failing with errPresenceSize when
// the state to write would pass limit bytes (0: no limit).
func editPresenceWithin(ctx context.Context, kv jetstream.KeyValue, channel string, limit int, fn func(d *presenceDoc) error) (*presenceDoc, error) {
	key := presenceKey(channelToken(channel))
	for attempt := 0; ; attempt++ {
		d, rev, err := readPresence(ctx, kv, key)
		if err != nil {
			return nil, err
		}
		if err := fn(d); err != nil {
			if errors.Is(err, errNoChange) {
				return d, nil
			}
			return d, err
		}
		var val []byte
		if !d.empty() {
			if val = mustJSON(d); limit > 0 && len(val) > limit {
				return d, fmt.Errorf("%w: %d bytes, at most %d", errPresenceSize, len(val), limit)
			}
		}
		switch {
		case d.empty() && rev == 0:
			return d, nil
		case d.empty():
			err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
		case rev == 0:
			_, err = kv.Create(ctx, key, val)
		default:
			_, err = kv.Update(ctx, key, val, rev)
		}
		if err == nil {
			return d, nil
		}
		if !isConflict(err) {
			return nil, err
		}
		if err := conflictBackoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("presence of %q: %w", channel, err)
		}
	}
}

func readPresence(ctx context.Context, kv jetstream.KeyValue, key string) (*presenceDoc, uint64, error) {
	d := &presenceDoc{}
	var rev uint64
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, 0, err
	default:
		rev = e.Revision()
		if json.Unmarshal(e.Value(), d) != nil {
			d = &presenceDoc{} // a foreign value: written over
		}
	}
	if d.Members == nil {
		d.Members = make(map[string]json.RawMessage)
	}
	if d.Conns == nil {
		d.Conns = make(map[string]presenceConn)
	}
	if d.Held == nil {
		d.Held = make(map[string]int64)
	}
	return d, rev, nil
}
