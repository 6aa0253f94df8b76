//go:build unix

package redisbroker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// TestShardedPubSubOnCluster runs two nodes on a one-server Redis Cluster
// that owns every slot: SPUBLISH/SSUBSCRIBE partitions, Lua scripts on
// hash-tagged keys, presence and GetClients.
func TestShardedPubSubOnCluster(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t, "--cluster-enabled", "yes", "--dir", t.TempDir())
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	wstest.EventuallyWithin(t, 10*time.Second, "cluster_state:ok", func() bool {
		info, err := c.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	})
	url := rs.URL() + "?cluster=true"
	mod := func(o *Options) { o.Partitions = 4 }
	a, b := newNode(t, url, "vbtest:cluster:", mod), newNode(t, url, "vbtest:cluster:", mod)
	if !a.br.keys.sharded || len(a.br.parts) != 4 {
		t.Fatalf("sharded=%v partitions=%d on a cluster", a.br.keys.sharded, len(a.br.parts))
	}
	alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
	for _, ch := range []string{"orders", "news", "alerts"} {
		bob.subscribe(ch)
	}
	if err := a.b.Channel("orders", "news", "alerts").Emit("multi", 1); err != nil {
		t.Fatal(err)
	}
	got := []string{bob.expect("multi").Channel, bob.expect("multi").Channel, bob.expect("multi").Channel}
	slices.Sort(got)
	if !slices.Equal(got, []string{"alerts", "news", "orders"}) {
		t.Fatalf("bob got the emit on %v", got)
	}
	alice.subscribe("presence-room")
	if m := members(t, bob.subscribe("presence-room")); !slices.Equal(m, []string{"alice", "bob"}) {
		t.Fatalf("bob sees %v", m)
	}
	alice.expect("member_added")
	wstest.EventuallyWithin(t, 5*time.Second, "GetClients on the cluster", func() bool {
		return len(a.b.GetClients("presence-room")) == 2
	})
	bob.ws.Close()
	if f := alice.expect("member_removed"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.raw)
	}
}
