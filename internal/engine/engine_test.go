package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/testenv"
)

func TestLifecycleStopEndsGoroutinesAndCalls(t *testing.T) {
	t.Parallel()
	l := NewLifecycle(time.Hour)
	ticks := make(chan struct{}, 16)
	kick := NewKick()
	l.Every(time.Hour, kick, func() { ticks <- struct{}{} })
	kick.Send()
	kick.Send() // merged with the first while it is pending, or a second run
	select {
	case <-ticks:
	case <-time.After(5 * time.Second):
		t.Fatal("a kick did not run the loop")
	}
	ctx, cancel := l.Call(context.Background())
	defer cancel()
	if l.Stopped() {
		t.Fatal("stopped before Stop")
	}
	l.StopWait()
	l.Stop() // idempotent
	if !l.Stopped() || l.Context().Err() == nil {
		t.Fatalf("after Stop: stopped %v, life %v", l.Stopped(), l.Context().Err())
	}
	select { // the call is cancelled from a goroutine of its own
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a call outlived Stop")
	}
	select {
	case <-l.Wait():
	case <-time.After(5 * time.Second):
		t.Fatal("Wait not done after StopWait")
	}
}

func TestLifecycleCallHasDeadline(t *testing.T) {
	t.Parallel()
	l := NewLifecycle(50 * time.Millisecond)
	defer l.StopWait()
	ctx, cancel := l.Call(context.Background())
	defer cancel()
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > 50*time.Millisecond {
		t.Fatalf("deadline %v (set %v), want within 50ms", dl, ok)
	}
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("call ended with %v", ctx.Err())
	}
}

func TestHealthLogsEachTransitionOnce(t *testing.T) {
	t.Parallel()
	var buf testenv.Buffer
	h := NewHealth(buf.Logger(), "x: down", "x: up")
	h.Set("a", errors.New("refused"))
	h.Set("b", errors.New("timeout"))
	h.Set("a", errors.New("refused again"))
	if h.OK() {
		t.Fatal("OK with failing components")
	}
	if got, want := h.Err().Error(), "a: refused again; b: timeout"; got != want {
		t.Fatalf("Err() = %q, want %q", got, want)
	}
	h.Set("a", nil)
	if h.OK() {
		t.Fatal("OK while b fails")
	}
	h.Set("b", nil)
	if !h.OK() || h.Err() != nil {
		t.Fatalf("after recovery: OK %v, Err %v", h.OK(), h.Err())
	}
	out := buf.String()
	if strings.Count(out, "x: down") != 1 || strings.Count(out, "x: up") != 1 ||
		!strings.Contains(out, "component=a") || !strings.Contains(out, "err=refused") {
		t.Fatalf("log:\n%s", out)
	}
}

func TestCommonDefaultsAndCheck(t *testing.T) {
	t.Parallel()
	errOpt := errors.New("pkg: invalid options")
	c, err := Common{}.WithDefaults("pkg")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NodeID) != 16 || c.CleanupBound != DefaultCleanupBound || c.Timeout != DefaultTimeout || c.Logger == nil {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Check(errOpt); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Common
		want string
	}{
		{Common{CleanupBound: MinCleanupBound - 1, Timeout: time.Second}, "CleanupBound 299.999999ms below 300ms"},
		{Common{CleanupBound: MinCleanupBound, Timeout: -1}, "Timeout -1ns is negative"},
	} {
		err := tc.c.Check(errOpt)
		if !errors.Is(err, errOpt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
	if s := NewSchedule(30 * time.Second); s.TTL != 20*time.Second || s.Beat != 20*time.Second/3 || s.Reap != 5*time.Second {
		t.Fatalf("schedule %+v", s)
	}
}

func TestWatchReportsOccupancyAndAnnouncements(t *testing.T) {
	t.Parallel()
	var w Watch
	w.Occupancy("c", 1) // no function: dropped
	var got []broker.Change
	w.Set(func(c broker.Change) { got = append(got, c) })
	w.Occupancy("c", 1)
	w.Occupancy("c", 0)
	w.Occupancy("c", -1)
	var sent []*broker.Envelope
	w.Announce(context.Background(), "presence-c", Sync{
		Removed: []string{"bob"},
		Added:   [][2]string{{"1.2", `{"user_id":"alice"}`}},
		Version: 7, Epoch: 3,
	}, func(_ context.Context, e *broker.Envelope) { sent = append(sent, e) })
	kinds := []broker.ChangeKind{broker.ChannelOccupied, broker.ChannelVacated, broker.MemberRemoved, broker.MemberAdded}
	if len(got) != len(kinds) {
		t.Fatalf("changes %+v", got)
	}
	for i, k := range kinds {
		if got[i].Kind != k {
			t.Errorf("change %d: %+v, want kind %v", i, got[i], k)
		}
	}
	if got[3].Member.UserID != "alice" || got[2].Member.UserID != "bob" {
		t.Errorf("members %+v %+v", got[2], got[3])
	}
	if len(sent) != 2 || sent[0].Event != broker.EventMemberRemoved || sent[1].Event != broker.EventMemberAdded ||
		sent[1].Except != "1.2" || sent[1].Version != 7 || sent[1].Epoch != 3 {
		t.Fatalf("sent %+v", sent)
	}
}

func TestDropsLogsOnceASecond(t *testing.T) {
	t.Parallel()
	var d Drops
	n, log := d.Add()
	if n != 1 || !log {
		t.Fatalf("first drop: %d, log %v", n, log)
	}
	if n, log = d.Add(); n != 2 || log {
		t.Fatalf("second drop: %d, log %v", n, log)
	}
	if d.Total() != 2 {
		t.Fatalf("total %d", d.Total())
	}
}

func TestLifecycleDrainRunsUntilNoMoreWork(t *testing.T) {
	t.Parallel()
	l := NewLifecycle(time.Second)
	wake := NewKick()
	var mu sync.Mutex
	queue := 3
	done := make(chan struct{})
	l.Drain(wake, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if queue == 0 {
			close(done)
			return false
		}
		queue--
		return true
	})
	wake.Send()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the queue was not drained")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Stop()
	if err := l.WaitWithin(ctx); err != nil {
		t.Fatalf("WaitWithin after Stop: %v", err)
	}
}

func TestLifecycleWaitWithinGivesUp(t *testing.T) {
	t.Parallel()
	l := NewLifecycle(time.Second)
	release := make(chan struct{})
	l.Go(func() { <-release }) // ignores Done, like a call stuck on a server
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	l.Stop()
	if err := l.WaitWithin(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitWithin = %v, want the deadline", err)
	}
	close(release)
	<-l.Wait()
}
