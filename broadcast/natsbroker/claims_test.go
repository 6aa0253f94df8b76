package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

// Of many claims of one key from two nodes at once, exactly one wins; a
// later claim of it loses until its time to live is over.
func TestClaimsOncePerCluster(t *testing.T) {
	t.Parallel()
	a := newTestBroker(t)
	started(t, a)
	b := peerOf(t, a).(*Broker)
	started(t, b)
	ctx := context.Background()
	var sets [2]*Claims
	for i, br := range []*Broker{a, b} {
		c, err := br.Claims("test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		sets[i] = c
	}
	const keys, workers = 20, 4
	var won [keys]atomic.Int32
	var wg sync.WaitGroup
	for w := range 2 * workers {
		wg.Go(func() {
			for k := range keys {
				first, err := sets[w%2].Claim(ctx, fmt.Sprintf("sig %d/±", k))
				if err != nil {
					t.Error(err)
					return
				}
				if first {
					won[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if n := won[k].Load(); n != 1 {
			t.Fatalf("key %d won %d times", k, n)
		}
	}
	if first, err := sets[1].Claim(ctx, "sig 3/±"); err != nil || first {
		t.Fatalf("claimed again: %v %v", first, err)
	}
	// NATS lost the bucket: it is made again, and claims work on.
	if err := a.js.DeleteKeyValue(ctx, sets[0].bucket); err != nil {
		t.Fatal(err)
	}
	for _, c := range sets {
		if first, err := c.Claim(ctx, "after "+c.b.node); err != nil || !first {
			t.Fatalf("after the bucket was lost: %v %v", first, err)
		}
	}
}

// A claim is forgotten once its time to live is over.
func TestClaimsExpire(t *testing.T) {
	t.Parallel()
	a := newTestBroker(t)
	started(t, a)
	c, err := a.Claims("expiry", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if first, err := c.Claim(ctx, "k"); err != nil || !first {
		t.Fatalf("first claim: %v %v", first, err)
	}
	if first, err := c.Claim(ctx, "k"); err != nil || first {
		t.Fatalf("second claim: %v %v", first, err)
	}
	wstest.Eventually(t, "the claim expired", func() bool {
		first, err := c.Claim(ctx, "k")
		return err == nil && first
	})
}

func TestClaimsBadInput(t *testing.T) {
	t.Parallel()
	a := newTestBroker(t)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"", time.Minute}, {"a.b", time.Minute}, {"a*", time.Minute}, {"ok", time.Millisecond}} {
		if _, err := a.Claims(tc.name, tc.ttl); !errors.Is(err, ErrOptions) {
			t.Errorf("Claims(%q, %s): %v, want ErrOptions", tc.name, tc.ttl, err)
		}
	}
	c, err := a.Claims("unstarted", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if _, err := c.Claim(context.Background(), "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim on a closed broker: %v, want ErrUnavailable", err)
	}
}
