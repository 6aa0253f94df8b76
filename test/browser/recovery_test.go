package browser

import (
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// gatedApp is the client harness whose WebSocket endpoint can refuse
// handshakes: a page cut off with it stays offline (retrying) for as long
// as the test needs, with no timing assumptions.
type gatedApp struct {
	*clientApp
	offline atomic.Bool
}

func (a *gatedApp) Handler() http.Handler {
	next := a.clientApp.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.offline.Load() && r.URL.Path == websocket.DefaultPath {
			http.Error(w, "offline", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// startHistoryClient serves the client harness with a broadcaster whose
// channels keep history: orders the last 100 events, ticker only 3.
func startHistoryClient(t *testing.T) (*broadcast.Broadcaster, *gatedApp, *page) {
	t.Helper()
	b := broadcast.New(nil,
		broadcast.WithHistory("orders", 100, time.Minute),
		broadcast.WithHistory("ticker", 3, time.Minute))
	var a *gatedApp
	srv := startServer(t, func() app {
		a = &gatedApp{clientApp: newClientApp(t, b)}
		return a
	})
	p := newPage(t, newBrowser(t), "client")
	p.do("open the harness", chromedp.Navigate(srv.URL()+"/"))
	p.waitFor("the module", `window.velocityModule !== undefined`)
	return b, a, p
}

// publish emits event with {"n": n} for each n in from..to.
func publish(t *testing.T, b *broadcast.Broadcaster, channel, event string, from, to int) {
	t.Helper()
	for n := from; n <= to; n++ {
		if err := b.Channel(channel).Emit(event, map[string]any{"n": n}); err != nil {
			t.Fatal(err)
		}
	}
}

func seq(from, to int) []int {
	var s []int
	for n := from; n <= to; n++ {
		s = append(s, n)
	}
	return s
}

// TestClientRecovery cuts a page off while events are published: after
// it reconnects, a channel whose history holds the gap shows every event
// exactly once and in order (subscribed gets {recovered: true}); one whose
// history has lost part of it gets {recovered: false}, nothing replayed,
// and reloads with history().
func TestClientRecovery(t *testing.T) {
	t.Parallel()
	b, gate, p := startHistoryClient(t)
	eval[bool](p, `(() => {
	  const { Velocity } = window.velocityModule;
	  window.got = { orders: [], ticker: [] };
	  window.offsets = [];
	  window.subs = { orders: [], ticker: [] };
	  window.plain = 0;
	  window.reloads = [];
	  const v = new Velocity({
	    tokenProvider: async () => (await (await fetch('/token', { method: 'POST' })).json()).token,
	    minDelay: 100,
	    maxDelay: 400,
	  });
	  window.v = v;
	  v.channel('orders')
	    .subscribed((s) => subs.orders.push(String(s.recovered)))
	    .subscribed(() => plain++) // a callback of before, ignoring the argument
	    .listen('OrderShipped', (d, f) => { got.orders.push(d.n); offsets.push(f.offset); });
	  const ticker = v.channel('ticker');
	  ticker
	    .subscribed(({ recovered }) => {
	      subs.ticker.push(String(recovered));
	      if (recovered === false) ticker.history(0).then((h) => reloads.push(h)); // reload the state
	    })
	    .listen('Tick', (d) => got.ticker.push(d.n));
	  return true;
	})()`)
	p.waitFor("both subscribed", `subs.orders.length === 1 && subs.ticker.length === 1`)

	publish(t, b, "orders", "OrderShipped", 1, 3)
	publish(t, b, "ticker", "Tick", 1, 2)
	p.waitFor("the live events", `got.orders.length === 3 && got.ticker.length === 2`)

	t.Log("cut the page off: the server drops its socket and refuses it while events are published")
	gate.offline.Store(true)
	socketID := eval[string](p, `v.socketId()`)
	if !gate.p.Server().Disconnect(socketID, websocket.CodeResync, "test: network cut") {
		t.Fatalf("socket %s not found", socketID)
	}
	waitServer(t, "the socket gone", func() bool { return len(b.GetClients("orders")) == 0 })
	publish(t, b, "orders", "OrderShipped", 4, 8)
	publish(t, b, "ticker", "Tick", 3, 7) // more than ticker's 3 retained
	p.waitFor("a handshake refused", `v.connector.attempt >= 2 && v.connectionStatus() !== 'connected'`)
	gate.offline.Store(false)

	p.waitFor("resubscribed", `subs.orders.length === 2 && subs.ticker.length === 2`)
	publish(t, b, "orders", "OrderShipped", 9, 10)
	publish(t, b, "ticker", "Tick", 8, 8)
	p.waitFor("the live events after the cut", `got.orders.length >= 10 && got.ticker.includes(8)`)

	if got := eval[[]int](p, `got.orders`); !slices.Equal(got, seq(1, 10)) {
		t.Fatalf("orders events = %v, want each of 1..10 once, in order", got)
	}
	if offs := eval[[]int](p, `offsets`); !slices.Equal(offs, seq(1, 10)) {
		t.Errorf("orders offsets = %v", offs)
	}
	if subs := eval[[]string](p, `subs.orders`); !slices.Equal(subs, []string{"undefined", "true"}) {
		t.Errorf("orders subscribed with %v, want [undefined true]", subs)
	}
	if n := eval[int](p, `plain`); n != 2 {
		t.Errorf("an argument-less subscribed callback ran %d times, want 2", n)
	}

	t.Log("ticker lost part of the gap: nothing replayed, the page reloads with history()")
	if subs := eval[[]string](p, `subs.ticker`); !slices.Equal(subs, []string{"undefined", "false"}) {
		t.Errorf("ticker subscribed with %v, want [undefined false]", subs)
	}
	if got := eval[[]int](p, `got.ticker`); !slices.Equal(got, []int{1, 2, 8}) {
		t.Errorf("ticker events = %v, want [1 2 8] (no replay)", got)
	}
	p.waitFor("the reload", `reloads.length === 1`)
	reload := eval[string](p, `JSON.stringify(reloads[0].publications.map((x) => [x.event, x.data.n, x.offset]).concat([reloads[0].offset]))`)
	if want := `[["Tick",5,5],["Tick",6,6],["Tick",7,7],7]`; reload != want {
		t.Errorf("ticker history = %s, want %s", reload, want)
	}

	t.Log("a replayed or repeated frame is dropped; a new epoch is followed")
	// Frames fed to the connector as if they came from the socket: a
	// duplicate of the last event, then one of a reset stream.
	eval[bool](p, `(() => {
	  const c = v.connector, epoch = v.channel('orders')._position.epoch;
	  const frame = (n, offset, epoch) => JSON.stringify({ type: 'OrderShipped', channel: 'orders', data: { n }, offset, epoch });
	  c._onFrame(c._ws, frame(10, 10, epoch));
	  c._onFrame(c._ws, frame(9, 9, epoch));
	  c._onFrame(c._ws, frame(11, 1, epoch + '-new'));
	  return true;
	})()`)
	if got := eval[[]int](p, `got.orders.slice(10)`); !slices.Equal(got, []int{11}) {
		t.Errorf("after a duplicate and a new epoch, got %v, want [11]", got)
	}
	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}

// TestClientHistory reads a channel's history: the last N publications,
// oldest first, asked even before the subscription succeeds; errors carry
// their code; concurrent requests get their own answers.
func TestClientHistory(t *testing.T) {
	t.Parallel()
	b, _, p := startHistoryClient(t)
	publish(t, b, "orders", "OrderShipped", 1, 10)
	eval[bool](p, `(() => {
	  const { Velocity } = window.velocityModule;
	  const v = new Velocity({
	    tokenProvider: async () => (await (await fetch('/token', { method: 'POST' })).json()).token,
	  });
	  window.v = v;
	  // Asked at once: sent when the subscription succeeds.
	  window.early = v.channel('orders').history(4);
	  v.channel('news');
	  return true;
	})()`)
	last4 := eval[string](p, `early.then((h) => JSON.stringify([h.publications.map((x) => [x.event, x.data.n, x.offset]), h.offset, typeof h.epoch, h.epoch.length > 0]))`)
	if want := `[[["OrderShipped",7,7],["OrderShipped",8,8],["OrderShipped",9,9],["OrderShipped",10,10]],10,"string",true]`; last4 != want {
		t.Fatalf("history(4) = %s, want %s", last4, want)
	}
	if n := eval[int](p, `v.channel('orders').history().then((h) => h.publications.length)`); n != 10 {
		t.Errorf("history() returned %d publications, want all 10", n)
	}
	p.waitFor("news subscribed", `v.channel('news').state === 'subscribed'`)

	failure := func(expr string) string {
		return eval[string](p, expr+`.then(() => 'resolved', (e) => (e instanceof Error) + ':' + e.code + ':' + e.channel)`)
	}
	if got := failure(`v.channel('news').history(5)`); got != "true:4412:news" {
		t.Errorf("history of a channel without history: %s, want true:4412:news", got)
	}
	if got := failure(`v.channel('orders').history(-1)`); got != "true:4400:orders" {
		t.Errorf("history(-1): %s", got)
	}

	t.Log("a burst of requests: each answer goes to its own request")
	// The server allows 5 requests a second; twelve at once get some 4301s.
	answers := eval[[]string](p, `Promise.all(Array.from({ length: 12 }, (_, i) =>
	  v.channel('orders').history(i + 1).then((h) => 'n' + h.publications.length, (e) => 'e' + e.code)))`)
	refused := 0
	for i, a := range answers {
		switch a {
		case "n" + strconv.Itoa(min(i+1, 10)):
		case "e4301":
			refused++
		default:
			t.Errorf("request %d (limit %d) got %s", i, i+1, a)
		}
	}
	if refused == 0 || answers[0] != "n1" {
		t.Errorf("answers %v: want the first served and some rate limited", answers)
	}

	t.Log("a channel's events keep flowing between history requests")
	eval[bool](p, `window.live = [], v.channel('orders').listen('OrderShipped', (d) => live.push(d.n)), true`)
	publish(t, b, "orders", "OrderShipped", 11, 11)
	p.waitFor("a live event", `live.includes(11)`)

	eval[bool](p, `window.left = v.channel('orders').history(1).then(() => 'resolved', (e) => 'rejected:' + e.code), v.leave('orders'), true`)
	if got := eval[string](p, `left`); got != "rejected:null" {
		t.Errorf("a request pending on leave: %s, want rejected:null", got)
	}
	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
