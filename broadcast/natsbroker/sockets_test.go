package natsbroker

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Every chunk fits its limit, and the chunks hold each socket once; one
// more socket changes one chunk.
func TestSplitSockets(t *testing.T) {
	t.Parallel()
	const limit = 1024
	for _, n := range []int{0, 1, 30, 1000, 20000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%d.%d", 1000000000+i*7919, i)
		}
		slices.Sort(ids)
		vals := encodeChunks(splitSockets(ids, limit))
		var got []string
		for k, v := range vals {
			var c chunk
			if err := json.Unmarshal(v, &c); err != nil || c.C != len(vals) {
				t.Fatalf("%d ids: chunk %d = %s (%v)", n, k, v, err)
			}
			if len(v) > limit {
				t.Fatalf("%d ids: chunk %d has %d bytes, limit %d", n, k, len(v), limit)
			}
			got = append(got, c.S...)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Fatalf("%d ids: chunks hold %d", n, len(got))
		}
		if n == 0 {
			continue
		}
		more := encodeChunks(splitSockets(slices.Concat(ids, []string{"9.9"}), limit))
		changed := 0
		for k := range min(len(vals), len(more)) {
			if string(vals[k]) != string(more[k]) {
				changed++
			}
		}
		if len(more) == len(vals) && changed != 1 {
			t.Fatalf("%d ids: one more socket changed %d chunks", n, changed)
		}
	}
}

func encodeChunks(parts []chunk) [][]byte {
	out := make([][]byte, len(parts))
	for i := range parts {
		out[i] = mustJSON(parts[i])
	}
	return out
}

// Any list of socket ids survives splitting and merging, each chunk
// within the limit; any value found in a chunk's key decodes to a chunk
// a reader can follow, or to nothing.
func FuzzChunks(f *testing.F) {
	f.Add([]byte("1.1\n2.2\n3.3"), uint16(300), []byte(`{"c":4,"s":["1.1"]}`))
	f.Add([]byte("a\"<\\\n\x01"), uint16(0), []byte(`{"c":1e9,"s":[]}`))
	f.Add([]byte(""), uint16(65535), []byte(`{"c":-1}`))
	f.Fuzz(func(t *testing.T, list []byte, limit uint16, value []byte) {
		ids := slices.Compact(slices.Sorted(slices.Values(strings.Split(string(list), "\n"))))
		lim := maxChunk(int64(limit) * 4)
		parts := splitSockets(ids, lim)
		runs := make([][]string, len(parts))
		for k, p := range parts {
			if p.C != len(parts) {
				t.Fatalf("chunk %d counts %d of %d", k, p.C, len(parts))
			}
			if len(p.S) == 1 || len(parts) == maxChunks {
				// One id, or every chunk used: it may be over the limit.
			} else if n := len(mustJSON(p)); n > lim {
				t.Fatalf("chunk %d has %d bytes, limit %d", k, n, lim)
			}
			runs[k] = p.S
		}
		if got := mergeSorted(runs); !slices.Equal(got, ids) && !(len(ids) == 0 && len(got) == 0) {
			t.Fatalf("merged %q, want %q", got, ids)
		}
		if c := parseChunk(value); c != nil && (c.C < 1 || c.C > maxChunks) {
			t.Fatalf("parsed a count of %d", c.C)
		}
	})
}
