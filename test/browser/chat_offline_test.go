package browser

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/examples/chat/chatapp"
)

// gatedChat is the chat whose WebSocket endpoint can refuse handshakes,
// so a page cut off stays offline for as long as the test needs.
type gatedChat struct {
	*chatapp.App
	offline atomic.Bool
}

func (a *gatedChat) Handler() http.Handler {
	next := a.App.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.offline.Load() && r.URL.Path == websocket.DefaultPath {
			http.Error(w, "offline", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// startGatedChat runs the chat example in-process behind a gate.
func startGatedChat(t *testing.T) (*server, *gatedChat) {
	t.Helper()
	cfg := testConfig(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var g *gatedChat
	srv := startServer(t, func() app {
		a, err := chatapp.New(chatapp.Options{Config: cfg, Secret: chatSecret, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		g = &gatedChat{App: a}
		return g
	})
	return srv, g
}

// setOffline cuts the page's network (every request and WebSocket
// handshake fails, navigator.onLine is false) or gives it back.
func setOffline(p *page, offline bool) {
	p.t.Helper()
	p.do("set offline="+map[bool]string{true: "true", false: "false"}[offline], func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if err := t.Call(ctx, "Network.enable", map[string]any{}, nil); err != nil {
			return chromedp.Void{}, err
		}
		conditions := map[string]any{
			"matchedNetworkConditions": []map[string]any{{
				"urlPattern": "", "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
			}},
		}
		if err := t.Call(ctx, "Network.emulateNetworkConditionsByRule", conditions, nil); err != nil {
			return chromedp.Void{}, err
		}
		state := map[string]any{"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
		return chromedp.Void{}, t.Call(ctx, "Network.overrideNetworkState", state, nil)
	})
}

// blockURLs makes the page's requests to URLs matching the patterns
// (URLPattern syntax) fail as unreachable; no patterns lifts the block.
func blockURLs(p *page, patterns ...string) {
	p.t.Helper()
	p.do("block "+strings.Join(patterns, " "), func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if err := t.Call(ctx, "Network.enable", map[string]any{}, nil); err != nil {
			return chromedp.Void{}, err
		}
		list := []map[string]any{}
		for _, pat := range patterns {
			list = append(list, map[string]any{"urlPattern": pat, "block": true})
		}
		return chromedp.Void{}, t.Call(ctx, "Network.setBlockedURLs", map[string]any{"urlPatterns": list}, nil)
	})
}

// rawErrors are the browsers' own texts for a request without an answer.
var rawErrors = []string{"Failed to fetch", "NetworkError", "Load failed", "TypeError"}

// noRawErrors fails the test if any text of the page, shown or hidden
// (inputs' values and placeholders included), has a browser's raw error.
func noRawErrors(p *page) {
	p.t.Helper()
	text := eval[string](p, `[document.title, document.body.textContent,
	  ...[...document.querySelectorAll('input')].map((i) => i.value + ' ' + i.placeholder)].join('\n')`)
	for _, raw := range rawErrors {
		if i := strings.Index(text, raw); i >= 0 {
			p.t.Fatalf("%s: the page shows the raw error %q: …%s…", p.name, raw, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}

// visible is a JavaScript predicate: the element that expr evaluates to
// is laid out inside the viewport and not covered at its centre.
func visible(expr string) string {
	return `((e) => { if (!e) return false; const r = e.getBoundingClientRect();
	  if (r.width <= 0 || r.height <= 0 || r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) return false;
	  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	  return hit !== null && (e === hit || e.contains(hit)); })(` + expr + `)`
}

func member(name string) string {
	return `[...document.querySelectorAll('#online .member')].find((e) => e.querySelector('.member-name').textContent === ` + js(name) + `)`
}

const (
	composerReady = `!document.getElementById('message').disabled && !document.getElementById('send').disabled && document.getElementById('composer-note').hidden`
	listFresh     = `!document.getElementById('online').classList.contains('stale') && document.getElementById('online-stale').hidden`
	listStale     = `document.getElementById('online').classList.contains('stale') && !document.getElementById('online-stale').hidden && document.getElementById('online-stale').textContent === 'last known'`
	noOverflow    = `document.documentElement.scrollWidth <= 420 && document.body.scrollWidth <= 420`
)

// TestChatOffline cuts a signed-in page off the network: the composer is
// disabled with a note, the online list marked as last known, no raw
// browser error shows anywhere, and once back everything recovers (a
// blocked history load is retried; a message sent while away arrives once).
func TestChatOffline(t *testing.T) {
	t.Parallel()
	srv, gate := startGatedChat(t)
	browser := newBrowser(t)
	alice := newPage(t, browser, "alice")
	bob := newPage(t, browser, "bob")
	signIn(alice, srv.URL(), "alice")
	signIn(bob, srv.URL(), "bob")
	alice.waitFor("bob online", online("bob"))
	alice.waitFor("a fresh list and a ready composer", listFresh+` && `+composerReady)

	t.Log("a send that gets no answer is marked not sent, its text back in the box")
	blockURLs(alice, srv.URL()+"/rooms/*")
	send(alice, "lost in transit")
	alice.waitFor("not sent", `document.querySelector('#messages .message.failed .note')?.textContent === 'Not sent — can’t reach the server.'
	  && document.getElementById('message').value === 'lost in transit'
	  && document.getElementById('send-error').textContent.startsWith('Can’t reach the server')`)
	noRawErrors(alice)
	blockURLs(alice)
	eval[bool](alice, `document.getElementById('message').value = '', true`)

	t.Log("offline: the socket drops and cannot come back, no request gets through")
	// The close of a socket cut by the network would only be noticed by
	// the heartbeat: the server closes it, and refuses it until the end.
	gate.offline.Store(true)
	socketID := eval[string](alice, `velocity.socketId()`)
	if !gate.Plugin().Server().Disconnect(socketID, websocket.CodeShutdown, "test: network cut") {
		t.Fatalf("socket %s not found", socketID)
	}
	alice.waitFor("a reconnect refused", `velocity.connector.attempt >= 2 && velocity.connectionStatus() !== 'connected'`)
	setOffline(alice, true)
	alice.waitFor("the composer disabled with a note", `document.getElementById('message').disabled && document.getElementById('send').disabled
	  && document.getElementById('composer').dataset.state === 'offline'
	  && document.getElementById('composer-note').textContent.startsWith('Offline — reconnecting…')`)
	alice.waitFor("the online list marked last known", listStale+` && `+online("bob"))
	if !eval[bool](alice, visible(`document.getElementById('composer-note')`)) {
		t.Fatal("the offline note is not visible")
	}
	eval[bool](alice, `document.getElementById('message').value = 'typed offline', document.getElementById('composer').requestSubmit(), true`)
	if n := eval[int](alice, `document.querySelectorAll('#messages .message.pending, #messages .message.failed').length`); n != 1 {
		t.Fatalf("%d pending or failed messages while offline, want only the earlier one", n)
	}
	alice.screenshot("chat-offline")
	noRawErrors(alice)

	t.Log("signing in while offline says the server cannot be reached")
	carol := newPage(t, browser, "carol")
	carol.do("open the chat", chromedp.Navigate(srv.URL()+"/"))
	carol.waitFor("the sign-in form", `!document.getElementById('login-view').hidden`)
	setOffline(carol, true)
	carol.do("sign in", chromedp.SetValue(chromedp.ID("name"), "carol"), chromedp.Click(chromedp.ID("login-button")))
	carol.waitFor("a human error", `document.getElementById('login-error').textContent === 'Can’t reach the server — check your connection and try again.'
	  && !document.getElementById('login-button').disabled`)
	noRawErrors(carol)

	t.Log("bob writes while alice is away")
	away := "sent while alice was away"
	send(bob, away)
	bob.waitFor("bob's message confirmed", confirmed(away))

	t.Log("back online with history blocked: a notice, then the retry fills the room")
	blockURLs(alice, srv.URL()+"/rooms/*")
	gate.offline.Store(false)
	setOffline(alice, false)
	alice.waitFor("reconnected, the list fresh, the composer ready", connected+` && `+listFresh+` && `+composerReady+` && `+online("bob"))
	alice.waitFor("the history notice", `!document.getElementById('notice').hidden && document.getElementById('notice').textContent.includes('retrying')`)
	noRawErrors(alice)
	blockURLs(alice)
	alice.waitFor("the history loaded", `document.getElementById('notice').hidden`)
	alice.waitFor("bob's message once", messageCount(away)+` === 1`)

	t.Log("the draft typed while offline is kept; a message sent after the recovery reaches bob once")
	if draft := eval[string](alice, `document.getElementById('message').value`); draft != "typed offline" {
		t.Errorf("the composer holds %q after the recovery, want the draft typed offline", draft)
	}
	eval[bool](alice, `document.getElementById('message').value = '', true`)
	back := "back online"
	send(alice, back)
	alice.waitFor("confirmed", confirmed(back))
	bob.waitFor("received", messageCount(back)+` === 1`)
	if n := eval[int](bob, messageCount("lost in transit")); n != 0 {
		t.Errorf("bob got the unsent message %d times", n)
	}
	if n := eval[int](alice, messageCount(away)); n != 1 {
		t.Errorf("alice shows bob's message %d times, want 1", n)
	}
	noRawErrors(alice)

	t.Log("joining a room whose authorization gets no answer says so and retries")
	blockURLs(alice, srv.URL()+"/broadcasting/auth")
	alice.do("open random", chromedp.Click(chromedp.CSS(`.room-link[data-room="random"]`)))
	alice.waitFor("the retry notice", `!document.getElementById('notice').hidden && document.getElementById('notice').textContent === 'Can’t reach the server — retrying…'
	  && document.getElementById('message').disabled && document.getElementById('composer-note').textContent === 'Joining #random…'`)
	noRawErrors(alice)
	blockURLs(alice)
	alice.waitFor("in random", `document.getElementById('notice').hidden && document.getElementById('room-error').hidden && `+composerReady+` && `+listFresh+` && `+online("alice"))
	send(alice, "made it to random")
	alice.waitFor("confirmed in random", confirmed("made it to random"))
	noRawErrors(alice)

	for _, p := range []*page{alice, bob, carol} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// TestChatNarrow uses the chat at 420 px: nothing overflows, the rooms
// and the online list open from the toolbar, and messages go out.
func TestChatNarrow(t *testing.T) {
	t.Parallel()
	srv := startChat(t)
	p := newPage(t, newBrowser(t), "nina")
	p.do("narrow viewport", chromedp.EmulateViewport(420, 800))
	signIn(p, srv.URL(), "nina")
	p.waitFor("no horizontal overflow", noOverflow)
	p.waitFor("the composer visible", visible(`document.getElementById('message')`)+` && `+visible(`document.getElementById('send')`))
	if eval[bool](p, visible(`document.getElementById('rooms')`)) {
		t.Fatal("the rooms list takes room before it is asked for")
	}

	t.Log("the rooms open from the toolbar; picking one closes them")
	p.do("open the rooms", chromedp.Click(chromedp.ID("toggle-rooms")))
	p.waitFor("the rooms visible", visible(`document.querySelector('.room-link[data-room="random"]')`)+` && `+noOverflow)
	p.do("pick random", chromedp.Click(chromedp.CSS(`.room-link[data-room="random"]`)))
	p.waitFor("in random", `document.getElementById('room-title').textContent === '# random' && `+composerReady+` && `+online("nina"))
	p.waitFor("the rooms closed", `!(`+visible(`document.querySelector('.room-link[data-room="random"]')`)+`)`)

	t.Log("the online list opens from the toolbar")
	p.do("open the online list", chromedp.Click(chromedp.ID("toggle-online")))
	p.waitFor("nina in the visible list", visible(member("nina"))+` && `+listFresh+` && `+noOverflow)
	p.waitFor("the composer still visible", visible(`document.getElementById('message')`))
	p.screenshot("chat-narrow-online")
	p.do("close the online list", chromedp.Click(chromedp.ID("toggle-online")))
	p.waitFor("the list closed", `!(`+visible(member("nina"))+`)`)

	t.Log("messages, long ones included, fit")
	send(p, "hello from a phone")
	p.waitFor("confirmed", confirmed("hello from a phone"))
	long := strings.Repeat("unbreakable", 40)
	sendValue(p, long)
	p.waitFor("the long one confirmed", confirmed(long)+` && `+noOverflow)
	p.screenshot("chat-narrow")
	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
