package browser

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// The browser client recovers by itself: its socket is closed by the
// server while 100 events are published, and after it reconnects the page
// has every event exactly once, in order, and was told it recovered;
// channel.history(n) reads the last n.
func TestClientRecovery(t *testing.T) {
	b := broadcast.New(nil, broadcast.WithHistory("orders", 1000, time.Minute))
	var ca *clientApp
	srv := startServer(t, func() app { ca = newClientApp(t, b); return ca })
	p := newPage(t, newBrowser(t), "recovery")
	p.do("open the harness", chromedp.Navigate(srv.URL()+"/"))
	p.waitFor("the module", `window.velocityModule !== undefined`)
	eval[bool](p, `(() => {
	  const { Velocity } = window.velocityModule;
	  window.log = [];
	  window.got = [];
	  const v = new Velocity({
	    tokenProvider: async () => (await (await fetch('/token', { method: 'POST' })).json()).token,
	    minDelay: 200,
	  });
	  window.v = v;
	  window.orders = v.channel('orders')
	    .subscribed(({ recovered }) => log.push('subscribed:' + recovered))
	    .listen('Seq', (d) => got.push(d.i));
	  window.plain = v.channel('plain').subscribed(() => log.push('plain'));
	  return true;
	})()`)
	p.waitFor("subscribed", `window.log.includes('subscribed:undefined') && window.log.includes('plain')`)
	emit := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := b.Channel("orders").Emit("Seq", map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(0, 10)
	p.waitFor("the first 10 events", `window.got.length === 10`)

	t.Log("the server closes the page's socket; 100 events are published while it is away")
	socketID := eval[string](p, `window.v.socketId()`)
	if !ca.p.Server().Disconnect(socketID, websocket.CodeShutdown, "test: network cut") {
		t.Fatalf("socket %s is not on the server", socketID)
	}
	emit(10, 110)
	p.waitFor("reconnected and recovered", `window.log.includes('subscribed:true') && window.got.length >= 110`)
	emit(110, 115)
	p.waitFor("live events after the recovery", `window.got.length >= 115`)
	got := eval[[]int](p, `window.got`)
	want := make([]int, 115)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the page got %v, want 0…114 once each, in order", got)
	}
	if eval[bool](p, `window.log.includes('subscribed:false')`) {
		t.Fatalf("the page was told events may be missing: %v", eval[[]string](p, `window.log`))
	}
	if eval[string](p, `window.v.socketId()`) == socketID {
		t.Fatal("the page did not reconnect")
	}

	t.Log("channel.history(5) reads the last five")
	offsets := eval[[]int](p, `window.orders.history(5).then((h) => h.publications.map((x) => x.offset))`)
	if !slices.Equal(offsets, []int{111, 112, 113, 114, 115}) {
		t.Fatalf("history(5) offsets %v", offsets)
	}
	p.waitFor("plain subscribed again", `window.plain.state === 'subscribed'`)
	if code := eval[int](p, `window.plain.history(1).then(() => 0, (e) => e.code)`); code != websocket.CodeNoHistory {
		t.Fatalf("history of a channel without history rejected with %d, want %d", code, websocket.CodeNoHistory)
	}
	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
