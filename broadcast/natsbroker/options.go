package natsbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/velocitykode/velocity/internal/engine"
)

// Options configures a Broker. A zero field takes its documented default.
type Options struct {
	// URL is the NATS server URL, usually the value of NATS_URL:
	// nats://[user:pass@]host:port, tls://… or a comma-separated list of
	// servers of one cluster (default "nats://127.0.0.1:4222").
	URL string
	// Prefix starts every subject and names the JetStream key-value
	// buckets, so that several apps can share one NATS (default
	// "velocity"). It is 1-32 characters of A-Z a-z 0-9 _ -.
	Prefix string
	// NodeID names this process in NATS (default: 16 random hex digits).
	// Two live processes must never share one.
	NodeID string
	// CleanupBound is the longest time between the death of a node that
	// did not shut down (kill -9, lost host) and the removal of its
	// subscribers from the registry on the surviving nodes (default 30s,
	// at least 300ms). The node heartbeat lives 2/3 of it (the heartbeat
	// bucket's MaxAge), refreshed every 1/3 of that; survivors look for
	// dead nodes every 1/6 of it. Every node of an app must use the same
	// value: the first node creates the bucket, the others follow its
	// MaxAge.
	CleanupBound time.Duration
	// Timeout bounds every NATS call the broker makes, including a
	// Publish's flush (default 2s). It is also the dial timeout, and the
	// connection's ping interval: a server that stops answering is
	// detected within about three timeouts.
	Timeout time.Duration
	// Logger receives outage, recovery and malformed-message reports
	// (default slog.Default()).
	Logger *slog.Logger
	// NATS options are applied after the broker's own (credentials, TLS,
	// a connection name). Options that replace the broker's connection
	// handlers (disconnect, reconnect, error) break its health reports.
	NATS []nats.Option
}

// Defaults of Options.
const (
	DefaultURL          = nats.DefaultURL
	DefaultPrefix       = "velocity"
	DefaultCleanupBound = engine.DefaultCleanupBound
	DefaultTimeout      = engine.DefaultTimeout
	maxPrefix           = 32
)

// ErrOptions is wrapped by every invalid-option error of New.
var ErrOptions = errors.New("natsbroker: invalid options")

// common returns the options every broker has with one meaning.
func (o Options) common() engine.Common {
	return engine.Common{NodeID: o.NodeID, CleanupBound: o.CleanupBound, Timeout: o.Timeout, Logger: o.Logger}
}

func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	c, err := o.common().WithDefaults("natsbroker")
	if err != nil {
		return o, err
	}
	o.NodeID, o.CleanupBound, o.Timeout, o.Logger = c.NodeID, c.CleanupBound, c.Timeout, c.Logger
	switch {
	case !validName(o.Prefix, maxPrefix):
		return o, fmt.Errorf("%w: Prefix %q must be 1-%d characters of A-Z a-z 0-9 _ -", ErrOptions, o.Prefix, maxPrefix)
	case !validName(o.NodeID, 64):
		return o, fmt.Errorf("%w: NodeID %q must be 1-64 characters of A-Z a-z 0-9 _ -", ErrOptions, o.NodeID)
	}
	if err := o.common().Check(ErrOptions); err != nil {
		return o, err
	}
	return o, checkURL(o.URL)
}

// validName reports whether s is 1-max characters of A-Z a-z 0-9 _ -: a
// single subject token, and usable in bucket names and keys.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkURL validates every server of a comma-separated NATS URL list.
func checkURL(raw string) error {
	for _, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		switch {
		case err != nil:
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("%w: NATS URL (NATS_URL) %q: %v", ErrOptions, redact(raw), err)
		case u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss":
			return fmt.Errorf("%w: NATS URL (NATS_URL) %q: scheme %q, want nats, tls, ws or wss", ErrOptions, redact(raw), u.Scheme)
		case u.Hostname() == "":
			return fmt.Errorf("%w: NATS URL (NATS_URL) %q: no host", ErrOptions, redact(raw))
		}
	}
	return nil
}

// redact hides the passwords of a NATS URL list, even an unparsable one.
func redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, s := range parts {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
			continue
		}
		if k := strings.Index(s, "://"); k >= 0 {
			if j := strings.LastIndexByte(s[k+3:], '@'); j >= 0 {
				parts[i] = s[:k+3] + "xxxxx" + s[k+3+j:]
			}
		}
	}
	return strings.Join(parts, ",")
}
