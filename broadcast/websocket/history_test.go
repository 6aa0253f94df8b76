package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/wstest"
)

// historyConfig keeps the history of orders (1000) and small-* (10).
func historyConfig() Config {
	return Config{History: []broadcast.HistoryRule{
		{Pattern: "orders", Size: 1000, TTL: time.Minute},
		{Pattern: "private-orders.*", Size: 100, TTL: time.Minute},
		{Pattern: "small-*", Size: 10, TTL: time.Minute},
	}}
}

// emitSeq emits Seq events with data {"i":from} … {"i":to-1}.
func emitSeq(t *testing.T, b *broadcast.Broadcaster, ch string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := b.Channel(ch).Emit("Seq", map[string]int{"i": i}); err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
	}
}

func seqOfFrame(t *testing.T, f wstest.Frame) int {
	t.Helper()
	var d struct{ I int }
	if err := json.Unmarshal(f.Data, &d); err != nil || f.Type != "Seq" {
		t.Fatalf("want a Seq event, got %s", f.Raw)
	}
	return d.I
}

// subscribeSince subscribes with a recovery position.
func subscribeSince(c *wstest.Client, ch string, offset uint64, epoch string) wstest.Frame {
	c.Send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": ch, "since": map[string]any{"offset": offset, "epoch": epoch}}})
	return c.Read()
}

// expectSeq reads events from→to-1 of channel, checking that their offsets
// follow firstOffset one by one, and returns the last offset.
func expectSeq(t *testing.T, c *wstest.Client, from, to int, firstOffset uint64, epoch string) uint64 {
	t.Helper()
	off := firstOffset
	for i := from; i < to; i++ {
		f := c.Read()
		if got := seqOfFrame(t, f); got != i || f.Offset != off || f.Epoch != epoch {
			t.Fatalf("event %d: got i=%d at %d/%q, want offset %d in %q (%s)", i, got, f.Offset, f.Epoch, off, epoch, f.Raw)
		}
		off++
	}
	return off - 1
}

// A channel with history: the subscription says where the stream stands,
// every event frame carries its offset and epoch, History reads what was
// published; a channel without history has neither field.
func TestHistoryPositionsOnFrames(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, historyConfig())
	c := ts.dial(t, nil)
	f := subscribe(c, "orders")
	pos := f.Position()
	if f.Type != "subscription_succeeded" || pos.Offset != 0 || pos.Epoch != "" || pos.Recovered != nil || !strings.Contains(f.Raw, `"epoch":""`) {
		t.Fatalf("subscribe to a fresh history channel: %s, want offset 0 and no epoch yet", f.Raw)
	}
	subscribe(c, "plain")
	emitSeq(t, ts.b, "orders", 0, 1)
	first := c.Read()
	if seqOfFrame(t, first) != 0 || first.Offset != 1 || first.Epoch == "" {
		t.Fatalf("first publication: %s, want offset 1 in a new epoch", first.Raw)
	}
	pos.Epoch = first.Epoch
	emitSeq(t, ts.b, "orders", 1, 3)
	expectSeq(t, c, 1, 3, 2, pos.Epoch)
	if err := ts.b.Channel("plain").Emit("Seq", map[string]int{"i": 0}); err != nil {
		t.Fatal(err)
	}
	if f := c.Read(); f.Offset != 0 || f.Epoch != "" {
		t.Fatalf("event on a channel without history carries a position: %s", f.Raw)
	}
	// One emit to both: each channel gets the event, orders with offset 4.
	if err := ts.b.Channel("orders", "plain").Emit("Seq", map[string]int{"i": 3}); err != nil {
		t.Fatal(err)
	}
	got := map[string]wstest.Frame{}
	for range 2 {
		f := c.Read()
		got[f.Channel] = f
	}
	if got["orders"].Offset != 4 || got["plain"].Offset != 0 {
		t.Fatalf("multi-channel emit: orders %s, plain %s", got["orders"].Raw, got["plain"].Raw)
	}
	res, err := ts.b.History(t.Context(), "orders", 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Position.Offset != 4 || res.Position.Epoch != pos.Epoch || len(res.Publications) != 2 ||
		res.Publications[0].Offset != 3 || string(res.Publications[1].Data) != `{"i":3}` {
		t.Fatalf("History(orders, 2) = %+v", res)
	}
	if _, err := ts.b.History(t.Context(), "plain", 2); !errors.Is(err, broadcast.ErrNoHistory) {
		t.Fatalf("History of a channel without history: %v, want ErrNoHistory", err)
	}
}

// recoveryCheck runs the offline window on nodes: a client on sub1 reads
// a few events, goes away, 100 events are published, and it comes back on
// sub2 with a since while a publisher keeps publishing: it gets every
// event exactly once, in order, the missed ones then the live ones.
func recoveryCheck(t *testing.T, pub, sub1, sub2 *testServer) {
	const ch = "orders"
	c := sub1.dial(t, nil)
	subscribe(c, ch)
	emitSeq(t, pub.b, ch, 0, 5)
	f0 := c.Read()
	epoch := f0.Epoch
	if seqOfFrame(t, f0) != 0 || f0.Offset != 1 || epoch == "" {
		t.Fatalf("first event: %s", f0.Raw)
	}
	last := expectSeq(t, c, 1, 5, 2, epoch)
	_ = c.WS.Close()
	emitSeq(t, pub.b, ch, 5, 105)

	// A publisher runs throughout the recovery, one event every 200 µs,
	// until the client has read 50 of its events live.
	live := wstest.StartPublisher(200*time.Microsecond, func(i int) error {
		return pub.b.Channel(ch).Emit("Seq", map[string]int{"i": 105 + i})
	})
	defer live.Stop()
	c2 := sub2.dial(t, nil)
	f := subscribeSince(c2, ch, last, epoch)
	if p := f.Position(); f.Type != "subscription_succeeded" || p.Recovered == nil || !*p.Recovered || p.Epoch != epoch {
		t.Fatalf("subscribe with since: %s", f.Raw)
	}
	off := expectSeq(t, c2, 5, 155, last+1, epoch)
	acked, failed := live.Stop()
	if len(failed) > 0 {
		t.Fatalf("%d publishes failed", len(failed))
	}
	expectSeq(t, c2, 155, 105+len(acked), off+1, epoch)
	c2.RoundTrip() // and nothing more
	t.Logf("recovered 100 missed events, then %d live ones", len(acked))
}

func TestRecoverySinceWithPublishersRunning(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, historyConfig())
	recoveryCheck(t, ts, ts, ts)
}

// A since the stream cannot honour is answered with recovered:false and
// nothing is replayed: another epoch, an offset older than the window, an
// offset from the future, a channel without history.
func TestRecoveryRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, historyConfig())
	c := ts.dial(t, nil)
	subscribe(c, "small-1")
	emitSeq(t, ts.b, "small-1", 0, 30)
	epoch := c.Read().Epoch
	expectSeq(t, c, 1, 30, 2, epoch)
	cases := []struct {
		name, ch, epoch string
		offset          uint64
	}{
		{"another epoch", "small-1", "not-" + epoch, 25},
		{"older than the window", "small-1", epoch, 5},
		{"from the future", "small-1", epoch, 1000},
		{"no history", "plain", epoch, 1},
	}
	current := uint64(30)
	for _, tc := range cases {
		c := ts.dial(t, nil)
		f := subscribeSince(c, tc.ch, tc.offset, tc.epoch)
		p := f.Position()
		if f.Type != "subscription_succeeded" || p.Recovered == nil || *p.Recovered {
			t.Fatalf("%s: %s, want recovered:false", tc.name, f.Raw)
		}
		if tc.ch == "small-1" && (p.Offset != current || p.Epoch != epoch) {
			t.Fatalf("%s: position %+v, want the current one", tc.name, p)
		}
		if tc.ch == "small-1" {
			current++
		}
		if err := ts.b.Channel(tc.ch).Emit("Seq", map[string]int{"i": 99}); err != nil {
			t.Fatal(err)
		}
		if f := c.Read(); seqOfFrame(t, f) != 99 {
			t.Fatalf("%s: replayed %s", tc.name, f.Raw)
		}
	}
	// Within the window: recovered, the rest replayed.
	c2 := ts.dial(t, nil)
	if f := subscribeSince(c2, "small-1", 28, epoch); !*f.Position().Recovered {
		t.Fatalf("within the window: %s", f.Raw)
	}
	expectSeq(t, c2, 28, 30, 29, epoch)
}

// A private channel with history replays nothing to a subscriber that is
// not authorized.
func TestRecoveryNeedsAuthorization(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, historyConfig())
	ts.b.SetAuthorizer(func(string, any) bool { return false })
	emitSeq(t, ts.b, "private-orders.1", 0, 3)
	res, err := ts.b.History(t.Context(), "private-orders.1", 0)
	if err != nil || len(res.Publications) != 3 {
		t.Fatalf("history: %+v, %v", res, err)
	}
	c := ts.dial(t, nil)
	f := subscribeSince(c, "private-orders.1", 0, res.Position.Epoch)
	if f.Type != "subscription_error" || f.Code() != CodeUnauthorized {
		t.Fatalf("unauthorized subscribe with since: %s", f.Raw)
	}
	c.Send(map[string]any{"type": "history", "data": map[string]any{"channel": "private-orders.1"}})
	if f := c.Read(); f.Type != "error" || f.Code() != CodeNotSubscribed {
		t.Fatalf("history of a channel not subscribed: %s", f.Raw)
	}
	c.RoundTrip()
}

// history requests: the last N, limits, refusals, rate.
func TestHistoryRequest(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, historyConfig())
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	subscribe(c, "plain")
	emitSeq(t, ts.b, "orders", 0, 20)
	for range 20 {
		c.Read()
	}
	ask := func(ch string, limit any) wstest.Frame {
		d := map[string]any{"channel": ch}
		if limit != nil {
			d["limit"] = limit
		}
		c.Send(map[string]any{"type": "history", "data": d})
		return c.Read()
	}
	f := ask("orders", 5)
	var h struct {
		Publications []struct {
			Event  string
			Data   struct{ I int }
			Offset uint64
		}
		Offset uint64
		Epoch  string
	}
	if err := json.Unmarshal(f.Data, &h); err != nil || f.Type != "history" || f.Channel != "orders" {
		t.Fatalf("history: %s", f.Raw)
	}
	if len(h.Publications) != 5 || h.Publications[0].Offset != 16 || h.Publications[0].Data.I != 15 || h.Publications[4].Event != "Seq" || h.Offset != 20 || h.Epoch == "" {
		t.Fatalf("history limit 5: %s", f.Raw)
	}
	if f := ask("orders", nil); len(f.Raw) < 20*10 || !json.Valid([]byte(f.Raw)) {
		t.Fatalf("history without limit: %s", f.Raw)
	}
	for _, tc := range []struct {
		ch    string
		limit any
		code  int
	}{
		{"plain", 5, CodeNoHistory},
		{"elsewhere", 5, CodeNotSubscribed},
		{"orders", -1, CodeMalformedFrame},
		{"orders", 1 << 20, CodeMalformedFrame},
		{"orders", "ten", CodeMalformedFrame},
	} {
		if f := ask(tc.ch, tc.limit); f.Type != "error" || f.Code() != tc.code {
			t.Fatalf("history %s limit %v: %s, want error %d", tc.ch, tc.limit, f.Raw, tc.code)
		}
	}
	// The rate: a burst of HistoryRequestRate, then 4301.
	limited := 0
	for range 3 * HistoryRequestRate {
		if f := ask("orders", 1); f.Type == "error" && f.Code() == CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("%d history requests in a row were never rate limited", 3*HistoryRequestRate)
	}
}

// Bad history rules stop the server from starting, naming the rule.
func TestHistoryRulesValidated(t *testing.T) {
	t.Parallel()
	for _, r := range []broadcast.HistoryRule{
		{Pattern: "", Size: 1, TTL: time.Minute},
		{Pattern: "bad name!", Size: 1, TTL: time.Minute},
		{Pattern: "orders", Size: 0, TTL: time.Minute},
		{Pattern: "orders", Size: broadcast.MaxHistorySize + 1, TTL: time.Minute},
		{Pattern: "orders", Size: 10, TTL: time.Millisecond},
	} {
		_, err := NewServer(Config{History: []broadcast.HistoryRule{r}})
		if !errors.Is(err, broadcast.ErrInvalidHistory) {
			t.Fatalf("rule %+v: %v, want ErrInvalidHistory", r, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Shutdown(ctx) }()
	if err := s.AddHistory(broadcast.HistoryRule{Pattern: "x" + strconv.Itoa(1), Size: 5, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

// Subscribes with a since over RecoveryRate per second are answered
// recovered:false without a replay: resubscribing in a loop cannot make
// the server read and replay a history over and over.
func TestRecoveryRateLimited(t *testing.T) {
	t.Parallel()
	clock := &wstest.Clock{} // time stands still: one second's budget
	ts := newTestServer(t, historyConfig(), WithClock(clock))
	emitSeq(t, ts.b, "orders", 0, 3)
	res, err := ts.b.History(t.Context(), "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t, nil)
	recovered := 0
	for range RecoveryRate + 5 {
		f := subscribeSince(c, "orders", 0, res.Position.Epoch)
		if p := f.Position(); p.Recovered != nil && *p.Recovered {
			recovered++
			expectSeq(t, c, 0, 3, 1, res.Position.Epoch)
		}
		c.Send(map[string]any{"type": "unsubscribe", "data": map[string]string{"channel": "orders"}})
	}
	c.RoundTrip()
	if recovered != RecoveryRate {
		t.Fatalf("%d of %d recoveries within one second replayed, want %d", recovered, RecoveryRate+5, RecoveryRate)
	}
}
