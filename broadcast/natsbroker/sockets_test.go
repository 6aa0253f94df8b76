package natsbroker

import (
	"encoding/json"
	"fmt"
	"slices"
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
