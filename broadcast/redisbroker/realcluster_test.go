//go:build unix

package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// redisCluster is a Redis Cluster of redis-server processes of a test.
type redisCluster struct {
	t       *testing.T
	servers []*testenv.RedisServer
	cc      *redis.ClusterClient // for the test's own look-ups
}

// startCluster runs masters×(1+replicas) cluster-enabled servers on free
// ports, joins them with redis-cli --cluster create and waits until every
// node reports cluster_state:ok and every replica is in sync.
func startCluster(t *testing.T, masters, replicas int) *redisCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		reason := "redis-cli is not installed (run ./scripts/test.sh, which installs it): " + err.Error()
		if testenv.Require() {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	dir := t.TempDir()
	rc := &redisCluster{t: t}
	args := []string{"--cluster", "create"}
	for range masters * (1 + replicas) {
		port := testenv.FreePort(t)
		s := testenv.StartRedisOn(t, port, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--cluster-node-timeout", "1000", "--dir", dir)
		rc.servers = append(rc.servers, s)
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	rc.waitOK(t)
	rc.cc = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{rc.servers[0].Addr()}})
	t.Cleanup(func() { rc.cc.Close() })
	return rc
}

// waitOK waits until every live node reports cluster_state:ok and every
// replica is in sync with its master.
func (rc *redisCluster) waitOK(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, s := range rc.servers {
		if !s.Running() {
			continue // killed
		}
		c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		wstest.EventuallyWithin(t, 20*time.Second, s.Addr()+" cluster_state:ok and in sync", func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			repl, err := c.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up"))
		})
		c.Close()
	}
}

// url is a cluster URL naming every node as a seed.
func (rc *redisCluster) url() string {
	u := "redis://" + rc.servers[0].Addr()
	for i, s := range rc.servers[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + s.Addr()
	}
	return u
}

// master returns the address of the master that serves app channel ch's
// pub/sub channel for br.
func (rc *redisCluster) master(br *Broker, ch string) string {
	rc.t.Helper()
	c, err := rc.cc.MasterForKey(context.Background(), br.keys.pubsub(ch))
	if err != nil {
		rc.t.Fatal(err)
	}
	return c.Options().Addr
}

// server returns the server listening on addr.
func (rc *redisCluster) server(addr string) *testenv.RedisServer {
	for _, s := range rc.servers {
		if s.Addr() == addr {
			return s
		}
	}
	rc.t.Fatalf("no server at %s", addr)
	return nil
}

// channelsByMaster spreads 24 channels over the masters that serve them.
func channelsByMaster(t *testing.T, rc *redisCluster, br *Broker) (all []string, by map[string][]string) {
	t.Helper()
	by = make(map[string][]string)
	for i := range 24 {
		ch := fmt.Sprintf("spread-%d", i)
		all = append(all, ch)
		m := rc.master(br, ch)
		by[m] = append(by[m], ch)
	}
	return all, by
}

// clusterNodes starts two nodes on rc.
func clusterNodes(t *testing.T, rc *redisCluster) (a, b *node) {
	t.Helper()
	mod := func(o *Options) { o.Timeout = 500 * time.Millisecond; o.CleanupBound = 3 * time.Second }
	prefix := fmt.Sprintf("vbtest:c%d:", rc.servers[0].Port())
	a, b = newNode(t, rc.url(), prefix, mod), newNode(t, rc.url(), prefix, mod)
	if !a.br.keys.sharded {
		t.Fatal("the broker did not use sharded pub/sub on Redis Cluster")
	}
	return a, b
}

// delivered reports whether a fresh client of b subscribed to ch gets an
// emit on ch from a: the path a reconnecting client takes.
func delivered(t *testing.T, a, b *node, ch string) bool {
	t.Helper()
	c := b.dial(t, "")
	defer c.ws.Close()
	if c.trySend(`{"type":"subscribe","data":{"channel":"`+ch+`"}}`) != nil {
		return false
	}
	if f, err := c.tryRead(2 * time.Second); err != nil || f.Type != "subscription_succeeded" {
		return false
	}
	if err := a.b.Channel(ch).Emit("probe", 1); err != nil {
		return false
	}
	f, err := c.tryRead(2 * time.Second)
	return err == nil && f.Type == "probe"
}

// TestRedisClusterThreeMastersFailover runs two nodes on a real Redis
// Cluster of three masters with a replica each: delivery across nodes on
// channels served by every master, presence across nodes, then SIGKILL of
// a master: its replica is promoted and delivery to the channels it
// serves resumes; subscribers of those channels are told to resubscribe,
// the others are left alone.
func TestRedisClusterThreeMastersFailover(t *testing.T) {
	t.Parallel()
	rc := startCluster(t, 3, 1)
	a, b := clusterNodes(t, rc)
	all, by := channelsByMaster(t, rc, a.br)
	if len(by) != 3 {
		t.Fatalf("24 channels hashed to %d masters, want 3", len(by))
	}

	bob := b.dial(t, "bob")
	for _, ch := range all {
		bob.subscribe(ch)
	}
	if err := a.b.Channel(all...).Emit("everywhere", 1); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range all {
		got = append(got, bob.expect("everywhere").Channel)
	}
	slices.Sort(got)
	want := slices.Clone(all)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("bob got the emit on %v", got)
	}

	alice := a.dial(t, "alice")
	alice.subscribe("presence-room")
	carol := b.dial(t, "carol")
	if m := members(t, carol.subscribe("presence-room")); !slices.Equal(m, []string{"alice", "carol"}) {
		t.Fatalf("carol on B sees %v", m)
	}
	if f := alice.expect("member_added"); userOf(t, f) != "carol" {
		t.Fatalf("alice got %s", f.raw)
	}
	if m, err := b.br.Presence().Members(context.Background(), "presence-room"); err != nil || len(m) != 2 {
		t.Fatalf("members seen from B = %v, %v", m, err)
	}

	victim := rc.master(a.br, all[0])
	var safe string
	for m, chs := range by {
		if m != victim {
			safe = chs[0]
		}
	}
	erin, dan := b.dial(t, "erin"), b.dial(t, "dan")
	erin.subscribe(all[0])
	dan.subscribe(safe)

	rc.server(victim).Kill()
	killed := time.Now()
	const bound = 30 * time.Second
	probes := time.NewTicker(200 * time.Millisecond) // poll interval
	defer probes.Stop()
	for !delivered(t, a, b, all[0]) {
		if time.Since(killed) > bound {
			t.Fatalf("no delivery on %s within %s of killing its master %s", all[0], bound, victim)
		}
		<-probes.C
	}
	t.Logf("delivery on the killed master's channels resumed %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	for _, ch := range by[victim] {
		wstest.EventuallyWithin(t, 10*time.Second, "delivery on "+ch, func() bool { return delivered(t, a, b, ch) })
	}
	expectResync(t, erin)
	dan.quiet()
	marker(t, a, dan, safe)
}

// TestRedisClusterWithoutReplicasFailsClearly kills a master of a
// cluster without replicas: emits to its channels fail with an error that
// wraps ErrUnavailable and says what failed, within the broker's timeout,
// for as long as the master is gone; so do subscriptions to them, and
// Health reports it.
func TestRedisClusterWithoutReplicasFailsClearly(t *testing.T) {
	t.Parallel()
	rc := startCluster(t, 3, 0)
	a, b := clusterNodes(t, rc)
	all, _ := channelsByMaster(t, rc, a.br)
	ch := all[0]
	if !delivered(t, a, b, ch) {
		t.Fatal("no delivery before the kill")
	}
	victim := rc.master(a.br, ch)
	rc.server(victim).Kill()

	timeout := a.br.opts.Timeout
	bound := timeout + 500*time.Millisecond
	for i := range 5 {
		start := time.Now()
		err := a.b.Channel(ch).Emit("lost", i)
		took := time.Since(start)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "publish") || !strings.Contains(err.Error(), ch) || !strings.Contains(err.Error(), victim) {
			t.Fatalf("emit %d to a channel of the dead master = %v, want ErrUnavailable naming the publish, the channel and the master", i, err)
		}
		if took > bound {
			t.Fatalf("emit %d took %s to fail, timeout %s", i, took, timeout)
		}
		if i == 0 {
			t.Logf("emit failed after %s: %v", took.Round(time.Millisecond), err)
		}
	}
	wstest.EventuallyWithin(t, 5*time.Second, "Health reporting the dead master", func() bool {
		err := b.br.Health(context.Background())
		return errors.Is(err, ErrUnavailable) && strings.Contains(err.Error(), "pubsub/")
	})
	c := b.dial(t, "")
	start := time.Now()
	c.send(`{"type":"subscribe","data":{"channel":"` + ch + `"}}`)
	f := c.expect("subscription_error")
	if took := time.Since(start); took > bound || !strings.Contains(f.raw, "4500") {
		t.Fatalf("subscription to a channel of the dead master: %s after %s", f.raw, took)
	}

	// The master comes back with its slots (its cluster config survived):
	// the outage ends without a restart of the nodes.
	dead := rc.server(victim)
	dead.Start()
	rc.waitOK(t)
	wstest.EventuallyWithin(t, 20*time.Second, "delivery after the master returned", func() bool { return delivered(t, a, b, ch) })
}

// Channel history on a real Redis Cluster of three masters, with sharded
// pub/sub and without: the history script appends and publishes on the
// slot of each channel, wherever it lives, and a client of the other node
// recovers every channel's publications.
func TestRedisClusterHistory(t *testing.T) {
	t.Parallel()
	rc := startCluster(t, 3, 0)
	for _, sharded := range []bool{true, false} {
		mod := func(o *Options) { o.Timeout = 2 * time.Second; o.DisableSharded = !sharded }
		prefix := fmt.Sprintf("vbtest:h%d:%v:", rc.servers[0].Port(), sharded)
		cfg := ws.Config{PresenceGracePeriod: -1, History: []broadcast.HistoryRule{{Pattern: "spread-*", Size: 10, TTL: time.Minute}}}
		a, b := newNodeConfig(t, rc.url(), prefix, cfg, mod), newNodeConfig(t, rc.url(), prefix, cfg, mod)
		if a.br.keys.sharded != sharded {
			t.Fatalf("sharded = %v, want %v", a.br.keys.sharded, sharded)
		}
		_, by := channelsByMaster(t, rc, a.br)
		if len(by) != 3 {
			t.Fatalf("channels spread over %d masters, want 3", len(by))
		}
		for _, chans := range by {
			ch := chans[0]
			for i := range 3 {
				if err := a.b.Channel(ch).Emit("Seq", i); err != nil {
					t.Fatalf("sharded=%v: emit to %s: %v", sharded, ch, err)
				}
			}
			res, err := b.b.History(context.Background(), ch, 0)
			if err != nil || len(res.Publications) != 3 || res.Position.Offset != 3 {
				t.Fatalf("sharded=%v: history of %s on the other node: %+v, %v", sharded, ch, res, err)
			}
			c := b.dial(t, "")
			c.send(fmt.Sprintf(`{"type":"subscribe","data":{"channel":%q,"since":{"offset":1,"epoch":%q}}}`, ch, res.Position.Epoch))
			if f := c.expect("subscription_succeeded"); !strings.Contains(f.raw, `"recovered":true`) {
				t.Fatalf("sharded=%v: recovery of %s: %s", sharded, ch, f.raw)
			}
			for _, want := range []string{`"offset":2`, `"offset":3`} {
				if f := c.expect("Seq"); !strings.Contains(f.raw, want) {
					t.Fatalf("sharded=%v: replay of %s: %s, want %s", sharded, ch, f.raw, want)
				}
			}
			c.ws.Close()
		}
	}
}
