package natsbroker

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Many users joining and leaving one presence channel at once, on two
// nodes: every join reports first once, every leave last once, the
// versions of the changes are all distinct, and nothing is left.
func TestConcurrentJoinsAndLeavesOfOneChannel(t *testing.T) {
	t.Parallel()
	a := newTestBroker(t)
	b := peerOf(t, a).(*Broker)
	started(t, a)
	started(t, b)
	stores := [2]*Presence{a.Presence(), b.Presence()}
	const users = 60
	const ch = "presence-busy"
	ctx := t.Context()
	var firsts, lasts atomic.Int32
	var mu sync.Mutex
	versions := map[uint64]bool{}
	note := func(v uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if versions[v] {
			return fmt.Errorf("version %d twice", v)
		}
		versions[v] = true
		return nil
	}
	run := func(step func(i int) error) {
		t.Helper()
		errs := make(chan error, users)
		var wg sync.WaitGroup
		for i := range users {
			wg.Go(func() { errs <- step(i) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	run(func(i int) error {
		m := broadcast.Member{UserID: fmt.Sprintf("u%02d", i), UserInfo: json.RawMessage(`{}`)}
		first, _, v, err := stores[i%2].Join(ctx, ch, fmt.Sprintf("%d.1", i), m)
		if err != nil {
			return err
		}
		if first {
			firsts.Add(1)
			return note(v)
		}
		return nil
	})
	if n := firsts.Load(); n != users {
		t.Fatalf("%d joins reported first, want %d", n, users)
	}
	if ms, err := a.Presence().Members(ctx, ch); err != nil || len(ms) != users {
		t.Fatalf("members = %d, %v; want %d", len(ms), err, users)
	}
	run(func(i int) error {
		last, v, err := stores[(i+1)%2].Leave(ctx, ch, fmt.Sprintf("%d.1", i), fmt.Sprintf("u%02d", i))
		if err != nil {
			return err
		}
		if last {
			lasts.Add(1)
			return note(v)
		}
		return nil
	})
	if n := lasts.Load(); n != users {
		t.Fatalf("%d leaves reported last, want %d", n, users)
	}
	if ms, err := b.Presence().Members(ctx, ch); err != nil || len(ms) != 0 {
		t.Fatalf("members left = %v, %v", ms, err)
	}
	// The cap holds under the same race.
	var full atomic.Int32
	run(func(i int) error {
		m := broadcast.Member{UserID: fmt.Sprintf("c%02d", i)}
		_, _, _, err := stores[i%2].JoinLimited(ctx, "presence-capped", fmt.Sprintf("%d.2", i), m, 10)
		if err != nil && !isFull(err) {
			return err
		}
		if err != nil {
			full.Add(1)
		}
		return nil
	})
	if n := full.Load(); n != users-10 {
		t.Fatalf("%d joins refused as full, want %d", n, users-10)
	}
}

func isFull(err error) bool { return err != nil && errors.Is(err, broker.ErrPresenceFull) }
