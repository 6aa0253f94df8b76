package browser

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/velocitykode/velocity/examples/chat/chatapp"
	"github.com/velocitykode/velocity/middleware"
)

var chatSecret = []byte("browser-test-chat-secret-0123456789")

// startChat runs the chat example in-process.
func startChat(t *testing.T) *server {
	t.Helper()
	cfg := testConfig(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return startServer(t, func() app {
		a, err := chatapp.New(chatapp.Options{Config: cfg, Secret: chatSecret, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}

// JavaScript predicates on the chat page.
func online(name string) string {
	return `[...document.querySelectorAll('#online .member-name')].some((e) => e.textContent === ` + js(name) + `)`
}

func messageCount(text string) string {
	return `[...document.querySelectorAll('#messages .message-text')].filter((e) => e.textContent === ` + js(text) + `).length`
}

func confirmed(text string) string {
	return `[...document.querySelectorAll('#messages .message:not(.pending):not(.failed) .message-text')].some((e) => e.textContent === ` + js(text) + `)`
}

const connected = `document.getElementById('status').dataset.state === 'connected'`

// signIn opens the chat and signs in; the name is set as a value, so any
// characters work.
func signIn(p *page, url, name string) {
	p.t.Helper()
	p.do("open the chat", chromedp.Navigate(url+"/"))
	p.waitFor("the sign-in form", `document.getElementById('name') && !document.getElementById('login-view').hidden`)
	p.do("sign in", chromedp.SetValue(chromedp.ID("name"), name), chromedp.Click(chromedp.ID("login-button")))
	p.waitFor("signed in and connected", connected+` && document.getElementById('me-name').textContent === `+js(name))
	p.waitFor("in the room", `document.querySelector('#online .member') !== null`)
}

// send types a message the way a user does and presses Send.
func send(p *page, text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.SendKeys(chromedp.ID("message"), text), chromedp.Click(chromedp.ID("send")))
}

// sendValue sets the composer's value directly (long or unusual input).
func sendValue(p *page, text string) {
	p.t.Helper()
	p.do("send", chromedp.SetValue(chromedp.ID("message"), text), chromedp.Click(chromedp.ID("send")))
}

func TestChat(t *testing.T) {
	srv := startChat(t)
	browser := newBrowser(t)
	alice := newPage(t, browser, "alice")
	bob := newPage(t, browser, "bob")
	signIn(alice, srv.URL(), "alice")
	signIn(bob, srv.URL(), "bob")

	t.Log("each sees the other online")
	alice.waitFor("bob online", online("bob"))
	bob.waitFor("alice online", online("alice"))

	t.Log("alice's typing shows on bob's page")
	alice.do("start typing", chromedp.SendKeys(chromedp.ID("message"), "Hi bob"))
	bob.waitFor("typing indicator", `document.getElementById('typing').textContent === 'alice is typing…'`)

	t.Log("alice's message reaches bob, once on her page")
	alice.do("send", chromedp.SendKeys(chromedp.ID("message"), ", welcome to #general!"), chromedp.Click(chromedp.ID("send")))
	first := "Hi bob, welcome to #general!"
	bob.waitFor("alice's message", messageCount(first)+` === 1`)
	bob.waitFor("typing cleared by the message", `document.getElementById('typing').textContent === ''`)
	alice.waitFor("her message confirmed", confirmed(first))
	send(bob, "Thanks alice! Live updates are instant here.")
	alice.waitFor("bob's reply", messageCount("Thanks alice! Live updates are instant here.")+` === 1`)
	// A later message from alice: once it has reached both pages, a
	// duplicate of the first one would have too.
	second := "Did you try the dashboard example too?"
	send(alice, second)
	bob.waitFor("the second message", messageCount(second)+` === 1`)
	alice.waitFor("the second message confirmed", confirmed(second))
	if n := eval[int](alice, messageCount(first)); n != 1 {
		t.Fatalf("alice's page shows her message %d times, want 1", n)
	}

	t.Log("@bob notifies bob only")
	send(alice, "@bob can you review the release notes?")
	bob.waitFor("the notification toast", `[...document.querySelectorAll('#toasts .toast-title')].some((e) => e.textContent === 'alice mentioned you in #general')`)
	alice.waitFor("the mention confirmed", `[...document.querySelectorAll('#messages .note')].some((e) => e.textContent === 'Notified @bob')`)
	if n := eval[int](alice, `document.querySelectorAll('#toasts .toast').length`); n != 0 {
		t.Fatalf("alice got %d notifications for her own mention", n)
	}
	alice.do("type again", chromedp.SendKeys(chromedp.ID("message"), "Sure, sending the"))
	bob.waitFor("typing indicator", `document.getElementById('typing').textContent === 'alice is typing…'`)
	bob.screenshot("chat-bob")
	alice.screenshot("chat-alice")
	eval[bool](alice, `document.getElementById('message').value = '', true`)

	t.Log("a reload shows the room's last messages from its history, in order, once each")
	bob.do("reload", chromedp.Reload())
	bob.waitFor("connected again", connected)
	bob.waitFor("the messages back", messageCount(first)+` === 1 && `+messageCount(second)+` === 1`)
	order := `(() => { const t = [...document.querySelectorAll('#messages .message-text')].map((e) => e.textContent);
		return t.indexOf(` + js(first) + `) < t.indexOf(` + js(second) + `); })()`
	if !eval[bool](bob, order) {
		t.Fatalf("after the reload bob's page shows the messages out of order")
	}

	t.Run("xss", func(t *testing.T) { testChatXSS(t, browser, srv, bob) })
	t.Run("bad input", func(t *testing.T) { testChatBadInput(t, bob) })
	t.Run("expired session", func(t *testing.T) { testChatExpiredSession(t, browser, srv) })

	t.Log("the pages reconnect by themselves after a server restart")
	srv.restart(func() {
		alice.waitFor("connection lost", `document.getElementById('status').dataset.state !== 'connected'`)
		bob.waitFor("connection lost", `document.getElementById('status').dataset.state !== 'connected'`)
	})
	alice.waitFor("reconnected", connected)
	bob.waitFor("reconnected", connected)
	alice.waitFor("bob back in the list", online("bob"))
	bob.waitFor("alice back in the list", online("alice"))
	send(alice, "back after the restart")
	bob.waitFor("message after the restart", messageCount("back after the restart")+` === 1`)
	alice.waitFor("confirmed after the restart", confirmed("back after the restart"))

	t.Log("closing alice's page removes her from bob's list")
	alice.close()
	bob.waitFor("alice gone", `!(`+online("alice")+`)`)

	for _, p := range []*page{alice, bob} {
		if ex := p.exceptions(); len(ex) > 0 {
			t.Errorf("%s: uncaught exceptions: %v", p.name, ex)
		}
	}
}

// testChatXSS signs in with markup in the name and sends markup: bob's
// page shows it as text and runs nothing.
func testChatXSS(t *testing.T, browser context.Context, srv *server, bob *page) {
	mallory := newPage(t, browser, "mallory")
	name := `<img src=x onerror=__xss=1>`
	text := `<script>window.__xss=2</script><b>bold?</b><img src=x onerror="window.__xss=3"> @bob`
	signIn(mallory, srv.URL(), name)
	bob.waitFor("mallory's name as text", online(name))
	sendValue(mallory, text)
	bob.waitFor("mallory's message as text", messageCount(text)+` === 1`)
	bob.waitFor("mallory's mention toast", `[...document.querySelectorAll('#toasts .toast-title')].some((e) => e.textContent.startsWith(`+js(name)+`))`)
	injected := eval[int](bob, `document.querySelectorAll('#messages img, #messages script, #messages b, #online img, #toasts img, #toasts script').length`)
	ran := eval[bool](bob, `window.__xss !== undefined`)
	if injected != 0 || ran {
		t.Fatalf("markup was rendered: %d elements injected, script ran: %v", injected, ran)
	}
	bob.screenshot("chat-xss")
	mallory.close()
	bob.waitFor("mallory gone", `!(`+online(name)+`)`)
}

// testChatBadInput: empty and 10 KB messages and an unknown room show
// clear errors.
func testChatBadInput(t *testing.T, bob *page) {
	bob.do("send nothing", chromedp.SetValue(chromedp.ID("message"), "   "), chromedp.Click(chromedp.ID("send")))
	bob.waitFor("empty message error", `document.getElementById('send-error').textContent === 'Type a message first.'`)

	sendValue(bob, strings.Repeat("x", 10240))
	bob.waitFor("too long error", `document.getElementById('send-error').textContent.startsWith('message is too long (10240 characters')`)
	bob.waitFor("the message marked as not sent", `document.querySelector('#messages .message.failed .note')?.textContent.startsWith('Not sent: message is too long')`)

	bob.do("open an unknown room", chromedp.Navigate(eval[string](bob, `location.href.split('#')[0]`)+"#nope"))
	bob.waitFor("unknown room banner", `!document.getElementById('room-error').hidden && document.getElementById('room-error').textContent.includes('“nope” does not exist')`)
	bob.waitFor("composer disabled", `document.getElementById('message').disabled`)
	bob.do("back to general", chromedp.Click(chromedp.CSS(`.room-link[data-room="general"]`)))
	bob.waitFor("back in general", `document.getElementById('room-error').hidden && !document.getElementById('message').disabled && `+online("bob"))
}

// testChatExpiredSession: a page holding an expired token is sent back to
// the sign-in form with an explanation.
func testChatExpiredSession(t *testing.T, browser context.Context, srv *server) {
	eve := newPage(t, browser, "eve")
	tok, err := middleware.SignHS256(chatSecret, "e1", -time.Minute, map[string]any{"name": "eve"})
	if err != nil {
		t.Fatal(err)
	}
	// The stored expiry says "valid"; the token itself has expired.
	session := `{"token":` + js(tok) + `,"expires_at":4102444800,"user":{"id":"e1","name":"eve"}}`
	eve.do("open", chromedp.Navigate(srv.URL()+"/"))
	eve.waitFor("the page", `document.getElementById('login-view') !== null`)
	eval[bool](eve, `sessionStorage.setItem('velocity-chat-session', `+js(session)+`), true`)
	eve.do("reload", chromedp.Reload())
	eve.waitFor("back to sign-in", `!document.getElementById('login-view').hidden && document.getElementById('login-error').textContent === 'Your session has expired. Please sign in again.'`)
	eve.close()
}
