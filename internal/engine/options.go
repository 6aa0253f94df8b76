package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Common, the same for every broker.
const (
	DefaultCleanupBound = 30 * time.Second
	DefaultTimeout      = 2 * time.Second
	MinCleanupBound     = 300 * time.Millisecond
)

// Common holds the options every broker has with one meaning.
type Common struct {
	NodeID       string
	CleanupBound time.Duration
	Timeout      time.Duration
	Logger       *slog.Logger
}

// WithDefaults fills the zero fields: a NodeID of 16 random hex digits,
// DefaultCleanupBound, DefaultTimeout and slog.Default(). pkg prefixes
// the error of a failed random read.
func (c Common) WithDefaults(pkg string) (Common, error) {
	if c.NodeID == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return c, fmt.Errorf("%s: node id: %w", pkg, err)
		}
		c.NodeID = hex.EncodeToString(b[:])
	}
	if c.CleanupBound == 0 {
		c.CleanupBound = DefaultCleanupBound
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Check returns an error wrapping errOptions when CleanupBound is below
// MinCleanupBound or Timeout is negative.
func (c Common) Check(errOptions error) error {
	switch {
	case c.CleanupBound < MinCleanupBound:
		return fmt.Errorf("%w: CleanupBound %s below %s", errOptions, c.CleanupBound, MinCleanupBound)
	case c.Timeout < 0:
		return fmt.Errorf("%w: Timeout %s is negative", errOptions, c.Timeout)
	}
	return nil
}

// Schedule is how often a node proves it lives and looks for dead ones,
// derived from the cleanup bound.
type Schedule struct {
	TTL  time.Duration // a heartbeat's life: 2/3 of the bound
	Beat time.Duration // heartbeat period: 1/3 of TTL
	Reap time.Duration // dead-node search period: 1/6 of the bound
}

// NewSchedule derives the Schedule of cleanupBound.
func NewSchedule(cleanupBound time.Duration) Schedule {
	ttl := cleanupBound * 2 / 3
	return Schedule{TTL: ttl, Beat: ttl / 3, Reap: cleanupBound / 6}
}
