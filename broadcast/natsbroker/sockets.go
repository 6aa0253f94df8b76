package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// A node's subscribers of one channel are split into chunks, so that no
// value outgrows the server's max_payload however many there are. A
// socket belongs to chunk hash(socket) mod C, C a power of two; so a
// change of one subscriber rewrites one chunk. C doubles until every
// chunk fits in maxChunk bytes, starting from the count that makes the
// chunks half full on average. Chunk 0 has key s.TOKEN.NODE, chunk k
// s.TOKEN.NODE.k; every chunk's value is {"c":C,"s":[socket ids]}.
//
// The count in chunk 0 is never below the number of chunks in NATS: a
// growing list writes chunk 0 first, a shrinking one deletes its extra
// chunks first. So a clean-up that reads chunk 0 finds them all, and a
// reader that meets a chunk of another count (or a missing one) knows a
// write is under way and reads again.

// chunkCap bounds a chunk's value: a change rewrites at most this much.
const chunkCap = 64 << 10

// maxChunks bounds the chunks of one channel per node.
const maxChunks = 1 << 16

type chunk struct {
	C int      `json:"c"`
	S []string `json:"s"`
}

func chunkKey(token, node string, k int) string {
	if k == 0 {
		return socketsKey(token, node)
	}
	return socketsKey(token, node) + "." + strconv.Itoa(k)
}

// maxChunk is the largest chunk value for a server's max_payload.
func maxChunk(maxPayload int64) int {
	return int(min(chunkCap, max(maxPayload/2, 256)))
}

// splitSockets divides ids (sorted) among their chunks, each in sorted
// order.
func splitSockets(ids []string, limit int) []chunk {
	sizes := make([]int, len(ids))
	total := 0
	for i, id := range ids {
		sizes[i] = jsonLen(id) + 1
		total += sizes[i]
	}
	c := 1
	for c < maxChunks && c*limit/2 < total {
		c *= 2
	}
	for {
		parts := make([]chunk, c)
		for i := range parts {
			parts[i].S = make([]string, 0, len(ids)/c+len(ids)/(4*c)+4)
		}
		used := make([]int, c)
		for i, id := range ids {
			k := socketHash(id) & uint32(c-1)
			parts[k].S = append(parts[k].S, id)
			used[k] += sizes[i]
		}
		// A chunk of one id over the limit cannot be helped by more
		// chunks (socket ids are short; this is for a foreign one).
		fits := true
		for k := range parts {
			fits = fits && (used[k]+chunkOverhead <= limit || len(parts[k].S) == 1)
		}
		if fits || c >= maxChunks {
			for i := range parts {
				parts[i].C = c
			}
			return parts
		}
		c *= 2
	}
}

// chunkOverhead bounds the bytes of a chunk's value besides its ids.
const chunkOverhead = len(`{"c":65536,"s":[]}`)

// jsonLen is the length of s encoded as a JSON string.
func jsonLen(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return len(mustJSON(s))
		}
	}
	return len(s) + 2
}

// FNV-1a, on strings without copying them.
const (
	fnvOffset32, fnvPrime32 = 2166136261, 16777619
	fnvOffset64, fnvPrime64 = 14695981039346656037, 1099511628211
)

func socketHash(id string) uint32 {
	h := uint32(fnvOffset32)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * fnvPrime32
	}
	return h
}

// digest identifies a chunk's content without encoding it (never 0,
// which means unknown).
func (c *chunk) digest() uint64 {
	h := uint64(fnvOffset64) ^ uint64(c.C)
	for _, id := range c.S {
		for i := 0; i < len(id); i++ {
			h = (h ^ uint64(id[i])) * fnvPrime64
		}
		h = (h ^ 0xff) * fnvPrime64 // 0xff never occurs in UTF-8
	}
	return h | 1
}

// writeSockets makes NATS hold ids as this node's subscribers of
// channel, writing only the chunks that changed since the last write
// (written: their digests, 0 for unknown). It returns the digests NATS
// holds now; after a failure, unknown ones for every chunk that may
// exist.
func writeSockets(ctx context.Context, kv jetstream.KeyValue, token, node string, ids []string, limit int, written []uint64) ([]uint64, error) {
	parts := splitSockets(ids, limit)
	now := make([]uint64, len(parts))
	for i := range parts {
		now[i] = parts[i].digest()
	}
	unknown := make([]uint64, max(len(parts), len(written)))
	// A shrinking list first deletes its extra chunks.
	for k := len(written) - 1; k >= len(parts); k-- {
		if err := deleteKey(ctx, kv, chunkKey(token, node, k)); err != nil {
			return unknown, err
		}
	}
	order := make([]int, 0, len(parts))
	if len(parts) > len(written) {
		order = append(order, 0) // a growing list first raises the count
	}
	for k := 1; k < len(parts); k++ {
		order = append(order, k)
	}
	if len(parts) <= len(written) {
		order = append(order, 0)
	}
	for _, k := range order {
		if k < len(written) && written[k] == now[k] {
			continue
		}
		if _, err := kv.Put(ctx, chunkKey(token, node, k), mustJSON(parts[k])); err != nil {
			return unknown, err
		}
	}
	return now, nil
}

// readSockets returns node's subscribers to token, reading the chunks
// past the first readAhead at a time. A chunk of another count than chunk
// 0's, or a missing one, means a write is under way: it reads again,
// twice at most, then returns what it found.
func readSockets(ctx context.Context, kv jetstream.KeyValue, token, node string) ([]string, error) {
	var ids []string
	for attempt := 0; attempt < 3; attempt++ {
		head, err := readChunk(ctx, kv, chunkKey(token, node, 0))
		if err != nil || head == nil {
			return nil, err
		}
		rest := make([]*chunk, head.C)
		errs := make([]error, len(rest))
		var wg sync.WaitGroup
		sem := make(chan struct{}, readAhead)
		for k := 1; k < len(rest); k++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				rest[k], errs[k] = readChunk(ctx, kv, chunkKey(token, node, k))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		runs := [][]string{head.S}
		torn := false
		for _, c := range rest[1:] {
			if c == nil || c.C != head.C {
				torn = true
				continue
			}
			runs = append(runs, c.S)
		}
		ids = mergeSorted(runs)
		if !torn {
			break
		}
	}
	return ids, nil
}

// mergeSorted merges sorted runs into one sorted slice, pairwise.
func mergeSorted(runs [][]string) []string {
	if len(runs) == 0 {
		return nil
	}
	for len(runs) > 1 {
		next := make([][]string, 0, (len(runs)+1)/2)
		for i := 0; i+1 < len(runs); i += 2 {
			next = append(next, merge2(runs[i], runs[i+1]))
		}
		if len(runs)%2 == 1 {
			next = append(next, runs[len(runs)-1])
		}
		runs = next
	}
	return runs[0]
}

func merge2(a, b []string) []string {
	m := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0] < a[0] {
			m, b = append(m, b[0]), b[1:]
		} else {
			m, a = append(m, a[0]), a[1:]
		}
	}
	return append(append(m, a...), b...)
}

// readAhead bounds the chunk reads of one readSockets in flight.
const readAhead = 8

// readChunk returns the chunk at key, nil when there is none (or it is a
// foreign value).
func readChunk(ctx context.Context, kv jetstream.KeyValue, key string) (*chunk, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseChunk(e.Value()), nil
}

// parseChunk decodes a chunk's value: nil for a foreign one, and a count
// beyond maxChunks is taken as maxChunks, so a reader never looks
// further.
func parseChunk(value []byte) *chunk {
	var c chunk
	if json.Unmarshal(value, &c) != nil || c.C < 1 {
		return nil
	}
	c.C = min(c.C, maxChunks)
	return &c
}

// deleteSockets deletes node's chunks of token: at least known of them
// (the count this node wrote, 0 for another node's), and as many as
// chunk 0 counts, chunk 0 last.
func deleteSockets(ctx context.Context, kv jetstream.KeyValue, token, node string, known int) error {
	n := known
	head, err := readChunk(ctx, kv, chunkKey(token, node, 0))
	if err != nil {
		return err
	}
	if head != nil {
		n = max(n, head.C)
	}
	for k := n - 1; k > 0; k-- {
		if err := deleteKey(ctx, kv, chunkKey(token, node, k)); err != nil {
			return err
		}
	}
	return deleteKey(ctx, kv, chunkKey(token, node, 0))
}
