package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The registry lives in four JetStream key-value buckets per prefix
// (history 1, file storage). nats-server 2.9 has no per-key TTL, so
// liveness comes from a bucket MaxAge and every shared update is a
// compare-and-set on the key's revision.
//
//	PREFIX_beats    NODE                 the node's heartbeat; the bucket's
//	                                     MaxAge (2/3 CleanupBound) expires it
//	PREFIX_nodes    NODE                 the node's registration
//	                NODE.TOKEN           index: NODE has entries in channel TOKEN
//	PREFIX_clients  o.TOKEN              the nodes with subscribers to the
//	                                     channel, a JSON array (CAS)
//	                s.TOKEN.NODE[.K]     NODE's subscribers to it, in chunks
//	                                     (sockets.go)
//	PREFIX_presence p.TOKEN              a presence channel's state (CAS,
//	                h.TOKEN.UTOKEN       presencedoc.go) and held departures
//
// TOKEN is the channel's subject token (subject.go). Only NODE writes its
// own keys, except a survivor that reaps a dead NODE; the o. key is
// shared, so the write that takes it from empty to not empty (or back)
// is the one that occupied (vacated) the channel, once for the cluster.
type buckets struct {
	beats, nodes, clients, presence jetstream.KeyValue
}

func bucketNames(prefix string) [4]string {
	return [4]string{prefix + "_beats", prefix + "_nodes", prefix + "_clients", prefix + "_presence"}
}

// ensureBuckets opens the buckets, creating those missing (also after
// NATS lost them); beatTTL is the heartbeat bucket's MaxAge when it
// creates it. It returns the MaxAge the heartbeat bucket has, and whether
// it created a bucket.
func ensureBuckets(ctx context.Context, js jetstream.JetStream, prefix string, beatTTL time.Duration) (buckets, time.Duration, bool, error) {
	names := bucketNames(prefix)
	var kvs [4]jetstream.KeyValue
	created := false
	for i, name := range names {
		cfg := jetstream.KeyValueConfig{Bucket: name, History: 1, Storage: jetstream.FileStorage}
		if i == 0 {
			cfg.TTL = beatTTL
		}
		kv, err := js.KeyValue(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			created = true
			kv, err = js.CreateKeyValue(ctx, cfg)
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = js.KeyValue(ctx, name)
			}
		}
		if err != nil {
			return buckets{}, 0, false, fmt.Errorf("key-value bucket %s: %w", name, err)
		}
		kvs[i] = kv
	}
	st, err := kvs[0].Status(ctx)
	if err != nil {
		return buckets{}, 0, false, fmt.Errorf("key-value bucket %s: %w", names[0], err)
	}
	return buckets{beats: kvs[0], nodes: kvs[1], clients: kvs[2], presence: kvs[3]}, st.TTL(), created, nil
}

func occKey(token string) string           { return "o." + token }
func socketsKey(token, node string) string { return "s." + token + "." + node }
func indexKey(node, token string) string   { return node + "." + token }

// conflictBackoff waits a little, more with each attempt, before a
// compare-and-set is tried again after a conflict (each conflict means
// another write went through), so that many writers of one key all get
// through in turn. Only ctx bounds the attempts.
func conflictBackoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt+1, 20)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%d conflicting updates in a row: %w", attempt+1, ctx.Err())
	case <-t.C:
		return nil
	}
}

// updateNodes adds node to (add) or removes it from the o. key of token
// and reports whether the channel went from no node to some (+1), from
// some to none (-1), or neither (0).
func updateNodes(ctx context.Context, kv jetstream.KeyValue, token, node string, add bool) (int, error) {
	key := occKey(token)
	for attempt := 0; ; attempt++ {
		var nodes []string
		var rev uint64
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, err
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &nodes); err != nil {
				nodes = nil // a foreign value: written over
			}
		}
		i, found := slices.BinarySearch(nodes, node)
		if found == add {
			return 0, nil
		}
		before := len(nodes)
		if add {
			nodes = slices.Insert(nodes, i, node)
		} else {
			nodes = slices.Delete(nodes, i, i+1)
		}
		switch {
		case len(nodes) == 0:
			err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
		case rev == 0:
			_, err = kv.Create(ctx, key, mustJSON(nodes))
		default:
			_, err = kv.Update(ctx, key, mustJSON(nodes), rev)
		}
		if err == nil {
			switch {
			case before == 0 && len(nodes) > 0:
				return 1, nil
			case before > 0 && len(nodes) == 0:
				return -1, nil
			}
			return 0, nil
		}
		if !isConflict(err) {
			return 0, err
		}
		if err := conflictBackoff(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

// isConflict reports a compare-and-set that lost to another write.
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// readNodes returns the nodes with subscribers to token.
func readNodes(ctx context.Context, kv jetstream.KeyValue, token string) ([]string, error) {
	e, err := kv.Get(ctx, occKey(token))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nodes []string
	_ = json.Unmarshal(e.Value(), &nodes)
	return nodes, nil
}

// deleteKey deletes key, which may be missing.
func deleteKey(ctx context.Context, kv jetstream.KeyValue, key string) error {
	err := kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// listKeys returns the keys of kv matching filter (a subject filter).
func listKeys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	l, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop() }()
	var out []string
	for {
		select {
		case k, ok := <-l.Keys():
			if !ok {
				if err := ctx.Err(); err != nil {
					return nil, err // the lister gave up early
				}
				return out, nil
			}
			out = append(out, k)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// indexedChannels returns the channels node's index lists.
func indexedChannels(ctx context.Context, kv jetstream.KeyValue, node string) ([]string, error) {
	keys, err := listKeys(ctx, kv, node+".*")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if ch, err := tokenChannel(strings.TrimPrefix(k, node+".")); err == nil {
			out = append(out, ch)
		}
	}
	return out, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
