package engine

import (
	"sync/atomic"
	"time"
)

// Drops counts dropped malformed messages and limits their log records
// to one a second. The zero value is ready; it is safe for concurrent
// use.
type Drops struct {
	n       atomic.Uint64
	lastLog atomic.Int64
}

// Add counts one drop and returns the total, and whether to log it.
func (d *Drops) Add() (total uint64, log bool) {
	total = d.n.Add(1)
	now, last := time.Now().UnixNano(), d.lastLog.Load()
	return total, now-last >= int64(time.Second) && d.lastLog.CompareAndSwap(last, now)
}

// Total returns how many drops were counted.
func (d *Drops) Total() uint64 { return d.n.Load() }
