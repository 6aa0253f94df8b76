package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// RedisNamespace returns a key prefix of t's own, "NAME:12 hex digits:",
// and deletes its keys from url's Redis when t ends (after the cleanups
// registered later, such as those of the nodes using it).
func RedisNamespace(t testing.TB, url, name string) string {
	t.Helper()
	prefix := name + ":" + randomHex() + ":"
	t.Cleanup(func() { deleteRedisKeys(url, prefix) })
	return prefix
}

// NATSNamespace returns a prefix of t's own, "NAME_12 hex digits", and
// deletes its key-value buckets (PREFIX_…) and history streams (subjects
// PREFIX.h.>) from url's NATS when t ends.
func NATSNamespace(t testing.TB, url, name string) string {
	t.Helper()
	prefix := name + "_" + randomHex()
	t.Cleanup(func() { deleteNATSNamespace(url, prefix) })
	return prefix
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func deleteRedisKeys(url, prefix string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var ks []string
	for iter.Next(ctx) {
		ks = append(ks, iter.Val())
	}
	if len(ks) > 0 {
		c.Del(ctx, ks...)
	}
}

func deleteNATSNamespace(url, prefix string) {
	nc, err := nats.Connect(url, nats.MaxReconnects(0))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name := range js.KeyValueStoreNames(ctx).Name() {
		if strings.HasPrefix(name, prefix+"_") {
			_ = js.DeleteKeyValue(ctx, name)
		}
	}
	for name := range js.StreamNames(ctx, jetstream.WithStreamListSubject(prefix+".h.>")).Name() {
		_ = js.DeleteStream(ctx, name)
	}
}
