//go:build linux

package main

import "bytes"

// stringField returns the contents of the first `"key":"…"` in b. Values
// with escaped quotes are not supported (channel names and event names of
// the benchmark never contain them).
func stringField(b []byte, key string) ([]byte, bool) {
	i := valueAt(b, key)
	if i < 0 || i >= len(b) || b[i] != '"' {
		return nil, false
	}
	end := indexByte(b, i+1, '"')
	if end < 0 {
		return nil, false
	}
	return b[i+1 : end], true
}

// valueAt returns the index of the value of the first `"key":` in b, or -1.
func valueAt(b []byte, key string) int {
	var pat [64]byte
	p := append(append(append(pat[:0], '"'), key...), '"', ':')
	i := bytes.Index(b, p)
	if i < 0 {
		return -1
	}
	return skipSpace(b, i+len(p))
}

// intField returns the integer value of the first `"key":N` in b.
func intField(b []byte, key string) (int64, bool) {
	i := valueAt(b, key)
	if i < 0 {
		return 0, false
	}
	v, neg, _, ok := parseInt(b, i)
	if neg {
		return -int64(v), ok
	}
	return int64(v), ok
}
