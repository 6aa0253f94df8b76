package redisbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/velocitykode/velocity/internal/engine"
)

// Options configures a Broker. A zero field takes its documented default.
type Options struct {
	// URL is the Redis URL, usually the value of REDIS_URL, parsed with
	// go-redis's parsers: redis://[user:pass@]host:port/db or rediss://…
	// for one server; extra ?addr=host:port parameters, or cluster=true,
	// select Redis Cluster (redis.ParseClusterURL); ?master_name=NAME
	// selects Sentinel (redis.ParseFailoverURL). Default
	// "redis://127.0.0.1:6379/0". Ignored when Client is set.
	URL string
	// Client is an existing client to use instead of URL. The Broker does
	// not close it; its timeouts should be bounded (ContextTimeoutEnabled).
	Client redis.UniversalClient
	// Prefix starts every key and pub/sub channel name, so that several
	// apps can share one Redis (default "velocity:"). It may not contain
	// '{' or '}' (they are Redis Cluster hash tags).
	Prefix string
	// NodeID names this process in Redis (default: 16 random hex digits).
	// Two live processes must never share one; a restarted process may
	// reuse its id, and then removes at start what its predecessor left.
	NodeID string
	// CleanupBound is the longest time between the death of a node that
	// did not shut down (kill -9, lost host) and the member_removed events
	// of its presence members on the surviving nodes (default 30s, at
	// least 300ms). The node heartbeat's TTL is 2/3 of it, refreshed every
	// 1/3 of the TTL; survivors look for dead nodes every 1/6 of it.
	CleanupBound time.Duration
	// Timeout bounds every Redis command the broker issues, including a
	// Publish (default 2s). It is also the dial, read, write and pool
	// timeout of a client built from URL. A pub/sub connection silent for
	// Timeout/2 is pinged, and one silent for 2×Timeout is replaced.
	Timeout time.Duration
	// Partitions is the number of sharded pub/sub connections per node on
	// Redis Cluster (default 16); every node of an app must use the same
	// value. Ignored without Cluster.
	Partitions int
	// DisableSharded uses classic PUBLISH/SUBSCRIBE on Redis Cluster
	// instead of SPUBLISH/SSUBSCRIBE.
	DisableSharded bool
	// Logger receives outage, recovery and malformed-message reports
	// (default slog.Default()).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultURL          = "redis://127.0.0.1:6379/0"
	DefaultPrefix       = "velocity:"
	DefaultCleanupBound = engine.DefaultCleanupBound
	DefaultTimeout      = engine.DefaultTimeout
	DefaultPartitions   = 16
)

// ErrOptions is wrapped by every invalid-option error of New.
var ErrOptions = errors.New("redisbroker: invalid options")

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
	c, err := o.common().WithDefaults("redisbroker")
	if err != nil {
		return o, err
	}
	o.NodeID, o.CleanupBound, o.Timeout, o.Logger = c.NodeID, c.CleanupBound, c.Timeout, c.Logger
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	switch {
	case strings.ContainsAny(o.Prefix, "{}"):
		return o, fmt.Errorf("%w: Prefix %q may not contain '{' or '}'", ErrOptions, o.Prefix)
	case !validNodeID(o.NodeID):
		return o, fmt.Errorf("%w: NodeID %q must be 1-64 characters of A-Z a-z 0-9 . _ - : only", ErrOptions, o.NodeID)
	}
	if err := o.common().Check(ErrOptions); err != nil {
		return o, err
	}
	if o.Partitions < 1 || o.Partitions > 1024 {
		return o, fmt.Errorf("%w: Partitions %d outside 1-1024", ErrOptions, o.Partitions)
	}
	return o, nil
}

func validNodeID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:", c) >= 0) {
			return false
		}
	}
	return true
}

// newClient builds the client for o.URL with bounded timeouts.
func newClient(o Options) (redis.UniversalClient, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, urlError(o.URL, err)
	}
	q := u.Query()
	cluster := q.Get("cluster") == "true" || q.Get("cluster") == "1" || len(q["addr"]) > 0
	q.Del("cluster")
	u.RawQuery = q.Encode()
	raw := u.String()
	t := o.Timeout
	switch {
	case q.Get("master_name") != "":
		fo, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		fo.ContextTimeoutEnabled = true
		setTimeouts(&fo.DialTimeout, &fo.ReadTimeout, &fo.WriteTimeout, &fo.PoolTimeout, t)
		return redis.NewFailoverClient(fo), nil
	case cluster:
		co, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		co.ContextTimeoutEnabled = true
		setTimeouts(&co.DialTimeout, &co.ReadTimeout, &co.WriteTimeout, &co.PoolTimeout, t)
		return redis.NewClusterClient(co), nil
	default:
		so, err := redis.ParseURL(raw)
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		so.ContextTimeoutEnabled = true
		setTimeouts(&so.DialTimeout, &so.ReadTimeout, &so.WriteTimeout, &so.PoolTimeout, t)
		return redis.NewClient(so), nil
	}
}

func setTimeouts(dial, read, write, pool *time.Duration, t time.Duration) {
	for _, d := range []*time.Duration{dial, read, write, pool} {
		if *d == 0 {
			*d = t
		}
	}
}

// urlError names the URL with its password hidden, also in the cause.
func urlError(raw string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := strings.ReplaceAll(err.Error(), raw, redact(raw))
	return fmt.Errorf("%w: Redis URL (REDIS_URL) %q: %s", ErrOptions, redact(raw), msg)
}

// redact hides the password of a Redis URL, even an unparsable one.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndexByte(raw[i+3:], '@'); j >= 0 {
			return raw[:i+3] + "xxxxx" + raw[i+3+j:]
		}
	}
	return raw
}
