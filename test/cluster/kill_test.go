//go:build unix

package cluster_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// child is a node in a process of its own (runChild), which a test
// kills with SIGKILL.
type child struct {
	url    string
	cmd    *exec.Cmd
	out    *testenv.Buffer // what it printed after its LISTEN line
	read   chan struct{}   // closed when its output ended
	killed sync.Once
}

// startChild runs a node of c's engine and namespace in a child process.
func startChild(t *testing.T, c *cluster) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEngineEnv+"="+c.e.name, childURLEnv+"="+c.url, childPrefixEnv+"="+c.prefix,
		childBoundEnv+"="+bound(c).String(), childGraceEnv+"="+c.grace.String())
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, out: &testenv.Buffer{}, read: make(chan struct{})}
	t.Cleanup(ch.kill)
	r := bufio.NewReader(pipe)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		close(ch.read)
		t.Fatalf("child node said %q: %v", line, err)
	}
	ch.url = strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))
	go func() {
		defer close(ch.read)
		_, _ = r.WriteTo(ch.out)
	}()
	return ch
}

func bound(c *cluster) time.Duration {
	if c.bound == 0 {
		return defaultBound
	}
	return c.bound
}

// kill ends the child with SIGKILL: no clean-up of any kind.
func (c *child) kill() {
	c.killed.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.read
		_ = c.cmd.Wait()
	})
}

// A killed node's presence members are removed, and its subscribers
// leave the registry, within the cleanup bound.
func TestNodeKilledMembersRemovedWithinBound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		const ch = "presence-crash"
		c := newCluster(t, e)
		dead := startChild(t, c)
		survivor := c.node(t)
		watcher := survivor.dial(t, "watcher")
		watcher.Join(ch)
		ghost := dialURL(t, dead.url, "ghost")
		if got := memberIDs(t, ghost.Join(ch)); len(got) != 2 {
			t.Fatalf("ghost sees %v", got)
		}
		if f := watcher.Expect("member_added"); wstest.UserOf(t, f) != "ghost" {
			t.Fatalf("watcher got %s", f.Raw)
		}
		wstest.EventuallyWithin(t, 5*time.Second, "both subscribers registered", func() bool { return len(survivor.b.GetClients(ch)) == 2 })

		dead.kill()
		killed := time.Now()
		f := readWithin(t, watcher, bound(c)+5*time.Second)
		took := time.Since(killed)
		if f.Type != "member_removed" || wstest.UserOf(t, f) != "ghost" {
			t.Fatalf("watcher got %s", f.Raw)
		}
		if took > bound(c)+time.Second { // a second for a loaded machine
			t.Fatalf("member_removed %s after the kill, bound %s", took, bound(c))
		}
		t.Logf("member_removed %s after SIGKILL (bound %s)", took.Round(time.Millisecond), bound(c))
		wstest.EventuallyWithin(t, 5*time.Second, "the dead node's subscriber unregistered", func() bool {
			return slices.Equal(survivor.b.GetClients(ch), []string{watcher.SocketID})
		})
		if got := survivor.members(t, ch); len(got) != 1 || got[0].UserID != "watcher" {
			t.Fatalf("members after the reap = %v", got)
		}
		marker(t, survivor, ch, watcher) // member_removed came once
	})
}

// changes records the occupancy and member hooks of a broadcaster.
type changes struct {
	mu   sync.Mutex
	seen []string
}

func watchHooks(b *broadcast.Broadcaster) *changes {
	c := &changes{}
	for _, k := range []broadcast.LifecycleKind{broadcast.ChannelOccupied, broadcast.ChannelVacated, broadcast.MemberAdded, broadcast.MemberRemoved} {
		b.On(k, func(_ context.Context, e broadcast.LifecycleEvent) {
			c.mu.Lock()
			defer c.mu.Unlock()
			line := e.Kind.String() + " " + e.Channel
			if e.UserID != "" {
				line += " " + e.UserID
			}
			c.seen = append(c.seen, line)
		})
	}
	return c
}

func (c *changes) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// When the node holding a channel's last subscribers and a presence
// member is killed, the survivors report the member removed and the
// channel vacated once for the cluster, within the cleanup bound.
func TestNodeKilledReportsVacatedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		c := newCluster(t, e)
		dead := startChild(t, c)
		survivors := c.nodes(t, 2)
		seen := []*changes{watchHooks(survivors[0].b), watchHooks(survivors[1].b)}
		all := func() []string {
			out := append(seen[0].list(), seen[1].list()...)
			slices.Sort(out)
			return out
		}

		ghost := dialURL(t, dead.url, "ghost")
		ghost.Join("presence-doomed")
		ghost.Join("doomed")
		wstest.EventuallyWithin(t, 5*time.Second, "the child's subscribers in the registry", func() bool {
			return len(survivors[0].b.GetClients("doomed")) == 1 && len(survivors[0].b.GetClients("presence-doomed")) == 1
		})
		// A subscriber of a survivor comes and goes: the channel was
		// occupied by the other node all along, so nothing is reported.
		watcher := survivors[0].dial(t, "watcher")
		watcher.Join("doomed")
		wstest.EventuallyWithin(t, 5*time.Second, "the survivor's subscriber in the registry", func() bool {
			return len(survivors[1].b.GetClients("doomed")) == 2
		})
		unsubscribe(watcher, "doomed")
		wstest.EventuallyWithin(t, 5*time.Second, "the survivor's subscriber gone from the registry", func() bool {
			return len(survivors[1].b.GetClients("doomed")) == 1
		})
		if got := all(); len(got) != 0 {
			t.Fatalf("the survivors reported %q for changes the other node made", got)
		}

		dead.kill()
		want := []string{"channel_vacated doomed", "channel_vacated presence-doomed", "member_removed presence-doomed ghost"}
		wstest.EventuallyWithin(t, bound(c)+5*time.Second, "the dead node's channels vacated", func() bool { return len(all()) >= len(want) })
		// Every survivor's reaper runs several times within a cleanup
		// bound: none reports the dead node's changes again.
		slices.Sort(want)
		stays(t, bound(c), "each change reported once", func() bool { return slices.Equal(all(), want) })
	})
}

// The node that held a departure is killed before the period ends: a
// survivor carries it out, and exactly one member_removed goes out, also
// once the dead node itself is reaped.
func TestGraceDepartureOutlivesKilledNode(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		const ch = "presence-grace-crash"
		c := newCluster(t, e)
		c.grace = 2 * time.Second
		dead := startChild(t, c)
		survivor := c.node(t)
		watcher := survivor.dial(t, "watcher")
		watcher.Join(ch)
		ghost := dialURL(t, dead.url, "ghost")
		if got := memberIDs(t, ghost.Join(ch)); len(got) != 2 {
			t.Fatalf("ghost sees %v", got)
		}
		watcher.Expect("member_added")
		// Another connection to the dead node stays until the kill: the
		// reap removes it from the registry.
		other := dialURL(t, dead.url, "")
		other.Join("open")
		wstest.EventuallyWithin(t, 5*time.Second, "the other connection registered", func() bool { return len(survivor.b.GetClients("open")) == 1 })

		left := time.Now()
		ghost.WS.Close()
		wstest.EventuallyWithin(t, 5*time.Second, "ghost's departure held", func() bool {
			return strings.Contains(dead.out.String(), "HELD "+ch+" ghost\n")
		})
		dead.kill()
		f := readWithin(t, watcher, c.grace+bound(c)+5*time.Second)
		took := time.Since(left)
		if f.Type != "member_removed" || wstest.UserOf(t, f) != "ghost" || took < c.grace {
			t.Fatalf("%s after %s; want ghost's member_removed after %s", f.Raw, took, c.grace)
		}
		t.Logf("member_removed %s after the leave, the holder SIGKILLed (grace %s, bound %s)", took.Round(time.Millisecond), c.grace, bound(c))
		// The dead node is reaped too; that must not announce ghost
		// again.
		wstest.EventuallyWithin(t, 2*bound(c), "the dead node reaped", func() bool { return len(survivor.b.GetClients("open")) == 0 })
		marker(t, survivor, ch, watcher)
		if got := survivor.members(t, ch); len(got) != 1 || got[0].UserID != "watcher" {
			t.Fatalf("members after the reap = %v", got)
		}
	})
}
