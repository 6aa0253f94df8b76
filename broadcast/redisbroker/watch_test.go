package redisbroker

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

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

func (c *changes) count(line string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if s == line {
			n++
		}
	}
	return n
}

func (c *changes) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// When the node holding a channel's last subscribers and a presence
// member is killed, the survivor that reaps it reports the member
// removed and the channel vacated, once, within the cleanup bound.
func TestNodeKilledReportsVacatedOnce(t *testing.T) {
	t.Parallel()
	const bound = 3 * time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	child, cmd := startTestNode(t, url, prefix, bound, 0)
	survivor := newNode(t, url, prefix, func(o *Options) { o.CleanupBound = bound })
	seen := watchHooks(survivor.b)

	ghost := child.dial(t, "ghost")
	ghost.subscribe("presence-doomed")
	ghost.subscribe("doomed")
	eventually(t, 5*time.Second, "the child's subscribers in the registry", func() bool {
		return len(survivor.b.GetClients("doomed")) == 1 && len(survivor.b.GetClients("presence-doomed")) == 1
	})
	// A subscriber of the survivor comes and goes: the channel was
	// occupied by the other node all along, so the survivor reports
	// nothing.
	watcher := survivor.dial(t, "watcher")
	watcher.subscribe("doomed")
	eventually(t, 5*time.Second, "the survivor's subscriber in the registry", func() bool {
		return len(survivor.b.GetClients("doomed")) == 2
	})
	watcher.unsubscribe("doomed")
	eventually(t, 5*time.Second, "the survivor's subscriber gone from the registry", func() bool {
		return len(survivor.b.GetClients("doomed")) == 1
	})
	if got := seen.list(); len(got) != 0 {
		t.Fatalf("the survivor reported %q for changes the other node made", got)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, bound+2*time.Second, "the dead node's channels vacated", func() bool {
		return seen.count("channel_vacated doomed") == 1 && seen.count("channel_vacated presence-doomed") == 1 &&
			seen.count("member_removed presence-doomed ghost") == 1
	})
	// Another reap finds nothing left to report.
	survivor.br.reap()
	if got := seen.list(); len(got) != 3 {
		t.Fatalf("after the kill the survivor reported %q, want each change once", got)
	}
}
