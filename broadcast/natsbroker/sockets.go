package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strconv"

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

// splitSockets encodes ids (sorted) as the values of their chunks.
func splitSockets(ids []string, limit int) [][]byte {
	total := 0
	for _, id := range ids {
		total += len(id) + 3
	}
	c := 1
	for c < maxChunks && c*limit/2 < total {
		c *= 2
	}
	for {
		parts := make([]chunk, c)
		for _, id := range ids {
			k := &parts[socketHash(id)&uint32(c-1)]
			k.S = append(k.S, id)
		}
		vals, fits := make([][]byte, c), true
		for i := range parts {
			parts[i].C = c
			if parts[i].S == nil {
				parts[i].S = []string{}
			}
			vals[i] = mustJSON(parts[i])
			fits = fits && len(vals[i]) <= limit
		}
		if fits || c >= maxChunks {
			return vals
		}
		c *= 2
	}
}

func socketHash(id string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()
}

func valueHash(v []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(v)
	return h.Sum64() | 1 // 0 means unknown
}

// writeSockets makes NATS hold ids as this node's subscribers of
// channel, writing only the chunks that changed since the last write
// (written: their hashes, 0 for unknown). It returns the hashes NATS
// holds now; after a failure, unknown ones for every chunk that may
// exist.
func writeSockets(ctx context.Context, kv jetstream.KeyValue, token, node string, ids []string, limit int, written []uint64) ([]uint64, error) {
	vals := splitSockets(ids, limit)
	now := make([]uint64, len(vals))
	for i, v := range vals {
		now[i] = valueHash(v)
	}
	unknown := make([]uint64, max(len(vals), len(written)))
	// A shrinking list first deletes its extra chunks.
	for k := len(written) - 1; k >= len(vals); k-- {
		if err := deleteKey(ctx, kv, chunkKey(token, node, k)); err != nil {
			return unknown, err
		}
	}
	order := make([]int, 0, len(vals))
	if len(vals) > len(written) {
		order = append(order, 0) // a growing list first raises the count
	}
	for k := 1; k < len(vals); k++ {
		order = append(order, k)
	}
	if len(vals) <= len(written) {
		order = append(order, 0)
	}
	for _, k := range order {
		if k < len(written) && written[k] == now[k] {
			continue
		}
		if _, err := kv.Put(ctx, chunkKey(token, node, k), vals[k]); err != nil {
			return unknown, err
		}
	}
	return now, nil
}

// readSockets returns node's subscribers to token. A chunk of another
// count than chunk 0's, or a missing one, means a write is under way: it
// reads again, twice at most, then returns what it found.
func readSockets(ctx context.Context, kv jetstream.KeyValue, token, node string) ([]string, error) {
	var ids []string
	for attempt := 0; attempt < 3; attempt++ {
		head, err := readChunk(ctx, kv, chunkKey(token, node, 0))
		if err != nil || head == nil {
			return nil, err
		}
		ids = append(ids[:0], head.S...)
		torn := false
		for k := 1; k < head.C && k < maxChunks; k++ {
			c, err := readChunk(ctx, kv, chunkKey(token, node, k))
			if err != nil {
				return nil, err
			}
			if c == nil || c.C != head.C {
				torn = true
				continue
			}
			ids = append(ids, c.S...)
		}
		if !torn {
			break
		}
	}
	return ids, nil
}

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
	var c chunk
	if json.Unmarshal(e.Value(), &c) != nil || c.C < 1 {
		return nil, nil
	}
	return &c, nil
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
		n = max(n, min(head.C, maxChunks))
	}
	for k := n - 1; k > 0; k-- {
		if err := deleteKey(ctx, kv, chunkKey(token, node, k)); err != nil {
			return err
		}
	}
	return deleteKey(ctx, kv, chunkKey(token, node, 0))
}
