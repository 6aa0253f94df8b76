package browser

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/jsclient"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

// tokenTTL is short so that the client refreshes during the test.
const tokenTTL = 5 * time.Second

var clientSecret = []byte("browser-test-client-secret-0123456789")

// clientApp is a bare plugin with the client and a page that imports it.
type clientApp struct {
	p *plugin.Plugin
	e *echo.Echo
}

func (a *clientApp) Handler() http.Handler              { return a.e }
func (a *clientApp) Shutdown(ctx context.Context) error { return a.p.Shutdown(ctx) }

const harnessPage = `<!doctype html><meta charset="utf-8"><title>velocity.js</title>
<script type="module">
import * as velocity from '/broadcasting/client.js';
window.velocityModule = velocity;
</script>`

func newClientApp(t *testing.T, b *broadcast.Broadcaster) *clientApp {
	t.Helper()
	p, err := plugin.New(testConfig(t), plugin.WithBroadcaster(b),
		plugin.WithJWT(middleware.Config{SigningKey: clientSecret}))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	p.Register(e)
	e.GET(jsclient.Path, echo.WrapHandler(jsclient.Handler()))
	e.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, harnessPage) })
	// The page's tokenProvider: a token of user 1 that lives tokenTTL.
	e.POST("/token", func(c echo.Context) error {
		tok, err := middleware.SignHS256(clientSecret, "1", tokenTTL, nil)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"token": tok})
	})
	return &clientApp{p: p, e: e}
}

// TestClientAPI drives velocity.js directly: Echo-style listen with a
// leading dot, subscribed and error callbacks, private channels through
// /broadcasting/auth, stopListening, the refresh frame before expiry,
// leave and disconnect.
func TestClientAPI(t *testing.T) {
	b := broadcast.New(nil)
	b.Authorize("user.{id}", func(user any, p map[string]string) (bool, error) {
		return broadcast.UserID(user) == p["id"], nil
	})
	srv := startServer(t, func() app { return newClientApp(t, b) })
	p := newPage(t, newBrowser(t), "client")
	p.do("open the harness", chromedp.Navigate(srv.URL()+"/"))
	p.waitFor("the module", `window.velocityModule !== undefined`)

	firstToken := time.Now() // the page fetches its first token right after this
	eval[bool](p, `(() => {
	  const { Velocity } = window.velocityModule;
	  window.log = [];
	  const v = new Velocity({
	    tokenProvider: async () => (await (await fetch('/token', { method: 'POST' })).json()).token,
	    minDelay: 200,
	  });
	  window.v = v;
	  v.connector.on('refreshed', () => log.push('refreshed'));
	  v.onStateChange((s) => log.push('state:' + s.current));
	  v.channel('news')
	    .subscribed(() => log.push('news:subscribed'))
	    .listen('.Headline', (d) => log.push('headline:' + d.title))
	    .listen('Marker', (d) => log.push('marker:' + d.n));
	  v.private('user.1').listen('Ping', (d) => log.push('ping:' + d.n)).subscribed(() => log.push('mine:subscribed'));
	  v.private('user.2').error((e) => log.push('denied:' + e.type + ':' + e.status));
	  return true;
	})()`)
	has := func(entry string) string { return `window.log.includes(` + js(entry) + `)` }
	p.waitFor("connected", `window.v.connectionStatus() === 'connected'`)
	p.waitFor("public subscription", has("news:subscribed"))
	p.waitFor("private subscription", has("mine:subscribed"))
	p.waitFor("someone else's channel refused", has("denied:auth_error:403"))
	socketID := eval[string](p, `window.v.socketId()`)
	if _, err := strconv.ParseFloat(socketID, 64); err != nil || !slices.Contains(b.GetClients("news"), socketID) {
		t.Fatalf("socketId() = %q, news has %v", socketID, b.GetClients("news"))
	}

	emit := func(channel, event string, data map[string]any) {
		t.Helper()
		if err := b.Channel(channel).Emit(event, data); err != nil {
			t.Fatal(err)
		}
	}
	emit("news", "Headline", map[string]any{"title": "one"})
	p.waitFor("the event, listened as .Headline", has("headline:one"))

	t.Log("stopListening")
	eval[bool](p, `window.v.channel('news').stopListening('Headline'), true`)
	emit("news", "Headline", map[string]any{"title": "two"})
	emit("news", "Marker", map[string]any{"n": 1})
	p.waitFor("the marker", has("marker:1"))
	if eval[bool](p, has("headline:two")) {
		t.Fatal("an event arrived after stopListening")
	}

	t.Log("the refresh frame extends the token before it expires")
	p.waitFor("refreshed", has("refreshed"))
	expiry := firstToken.Add(tokenTTL + time.Second) // the first token is dead by then
	p.waitFor("past the first token's expiry", `Date.now() > `+strconv.FormatInt(expiry.UnixMilli(), 10))
	emit("private-user.1", "Ping", map[string]any{"n": 1})
	p.waitFor("private event after the first token's expiry", has("ping:1"))
	if now := eval[string](p, `window.v.socketId()`); now != socketID {
		t.Fatalf("the connection was replaced (%s → %s) instead of refreshed", socketID, now)
	}

	t.Log("leave and disconnect")
	eval[bool](p, `window.v.leave('news'), true`)
	p.waitFor("left", `!window.v.channels.has('news')`)
	waitServer(t, "unsubscribed on the server", func() bool { return len(b.GetClients("news")) == 0 })
	eval[bool](p, `window.v.disconnect(), true`)
	p.waitFor("disconnected", `window.v.connectionStatus() === 'disconnected'`)
	waitServer(t, "socket closed", func() bool { return len(b.GetClients("private-user.1")) == 0 })
	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}

// waitServer polls a server-side condition.
func waitServer(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
