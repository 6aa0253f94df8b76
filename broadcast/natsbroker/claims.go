package natsbroker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Claims is a cluster-wide set of keys that can each be claimed once
// within a time to live: of every node's Claim calls for one key in that
// time, exactly one returns true. It lives in the JetStream key-value
// bucket PREFIX_claims_NAME (file storage), whose MaxAge is the time to
// live, so a claim is forgotten that long after it was made. The bucket
// is made on first use, and again when NATS lost it.
type Claims struct {
	b      *Broker
	bucket string
	ttl    time.Duration

	opened atomic.Bool // the bucket was found or made
}

// Claims returns the set of claims called name, each held for ttl (at
// least a second).
func (b *Broker) Claims(name string, ttl time.Duration) (*Claims, error) {
	if !validName(name, maxPrefix) {
		return nil, fmt.Errorf("%w: claims name %q must be 1-%d characters of A-Z a-z 0-9 _ -", ErrOptions, name, maxPrefix)
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("%w: claims %q: a time to live of %s is under a second", ErrOptions, name, ttl)
	}
	return &Claims{b: b, bucket: b.opts.Prefix + "_claims_" + name, ttl: ttl}, nil
}

// Claim claims key (any string) for the cluster. It reports true when no
// claim of key was made within the time to live, false when one was,
// and ErrUnavailable when NATS did not answer within the broker's
// Timeout.
func (c *Claims) Claim(ctx context.Context, key string) (bool, error) {
	if err := c.b.connected(); err != nil {
		return false, fmt.Errorf("%w: claim in %s: %v", ErrUnavailable, c.bucket, err)
	}
	ctx, cancel := c.b.life.Call(ctx)
	defer cancel()
	msg := nats.Msg{Subject: "$KV." + c.bucket + "." + base64.RawURLEncoding.EncodeToString([]byte(key)), Data: []byte{'1'}}
	for attempt := 0; ; attempt++ {
		err := c.open(ctx)
		if err == nil {
			// One publish that only a subject with no message takes: the
			// key-value Create without its read, and without retries, so
			// a lost bucket shows at once.
			_, err = c.b.js.PublishMsg(ctx, &msg, jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithRetryAttempts(0))
		}
		var api *jetstream.APIError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
			return false, nil
		case attempt == 0 && (errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse)):
			c.opened.Store(false) // NATS lost the bucket: make it again, once
		default:
			return false, fmt.Errorf("%w: claim in %s: %v", ErrUnavailable, c.bucket, err)
		}
	}
}

// open makes the bucket unless it was found before.
func (c *Claims) open(ctx context.Context) error {
	if c.opened.Load() {
		return nil
	}
	_, err := c.b.js.KeyValue(ctx, c.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = c.b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: c.bucket, History: 1, TTL: c.ttl, Storage: jetstream.FileStorage})
		if errors.Is(err, jetstream.ErrBucketExists) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	c.opened.Store(true)
	return nil
}
