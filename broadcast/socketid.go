package broadcast

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"sync/atomic"
)

// MaxSocketIDLength bounds the length of a socket id accepted from a client.
const MaxSocketIDLength = 41

// processSocketPrefix is random per process so that ids are unique across
// every node of a cluster; the sequence makes them unique within it.
var (
	processSocketPrefix = func() uint32 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("broadcast: crypto/rand: " + err.Error())
		}
		return binary.LittleEndian.Uint32(b[:])%2_000_000_000 + 1
	}()
	socketSeq atomic.Uint64
)

// NewSocketID returns a socket id unique on the cluster, in Pusher's format
// "<digits>.<digits>". Both wire protocols use it.
func NewSocketID() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, uint64(processSocketPrefix), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, socketSeq.Add(1), 10)
	return string(b)
}

// ValidSocketID reports whether s has the form "<digits>.<digits>".
func ValidSocketID(s string) bool {
	if len(s) < 3 || len(s) > MaxSocketIDLength {
		return false
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if dot >= 0 {
				return false
			}
			dot = i
		case c < '0' || c > '9':
			return false
		}
	}
	return dot > 0 && dot < len(s)-1
}
