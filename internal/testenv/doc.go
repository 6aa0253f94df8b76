// Package testenv lets tests that need a service from outside the
// process (Redis, NATS, a Chromium binary) find it, and decides what happens
// when it is not there.
//
// By default such a test is skipped with a one-line reason that says how
// to get the service. When the environment variable
// VELOCITY_REQUIRE_SERVICES is set to anything non-empty (scripts/test.sh
// and CI set it), the same reason fails the test instead, so a run that
// is meant to cover everything never passes by skipping.
//
// A test asks for the service at its start and uses what it gets back:
//
//	func TestBrokerFanOut(t *testing.T) {
//		url := testenv.Redis(t) // REDIS_URL, or redis://127.0.0.1:6379/0
//		b, err := redisbroker.New(redisbroker.Options{URL: url})
//		...
//	}
//
//	func TestPageReconnects(t *testing.T) {
//		chromium := testenv.Chromium(t) // path of the browser binary
//		ctx, cancel := chromedp.NewExecAllocator(t.Context(), chromedp.ExecPath(chromium))
//		...
//	}
//
// Every call checks again (a PING to a local Redis takes about a
// millisecond), so each test that needs a service asks for it itself.
package testenv
