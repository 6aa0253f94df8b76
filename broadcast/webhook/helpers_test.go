package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testKey    = "test-key"
	testSecret = "test-secret"
)

// request is one POST a receiver got.
type request struct {
	n      int // 1-based arrival order
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP server recording every POST. answer decides
// the reply of the n-th request (nil: 200); it may block or hijack.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []request
	accepted []map[string]any // events of requests answered 2xx, signature checked
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request) int) *receiver {
	rv := &receiver{t: t}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		rv.mu.Lock()
		n := len(rv.requests) + 1
		rv.requests = append(rv.requests, request{n: n, header: r.Header.Clone(), body: body, at: time.Now()})
		rv.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(n, w, r)
		}
		if status == 0 { // hijacked or gave up
			return
		}
		if status/100 == 2 {
			events := checkSigned(t, r.Header, body)
			rv.mu.Lock()
			rv.accepted = append(rv.accepted, events...)
			rv.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

// checkSigned recomputes the signature of body independently of the
// package and returns its events.
func checkSigned(t *testing.T, h http.Header, body []byte) []map[string]any {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	if want := hex.EncodeToString(mac.Sum(nil)); h.Get("X-Pusher-Signature") != want {
		t.Errorf("X-Pusher-Signature = %q, want %q", h.Get("X-Pusher-Signature"), want)
	}
	if h.Get("X-Pusher-Key") != testKey {
		t.Errorf("X-Pusher-Key = %q", h.Get("X-Pusher-Key"))
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	var p struct {
		TimeMS *int64           `json:"time_ms"`
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.TimeMS == nil {
		t.Errorf("body %s: %v (time_ms %v)", body, err, p.TimeMS)
	}
	return p.Events
}

func (rv *receiver) url() string { return rv.srv.URL + "/hook" }

func (rv *receiver) snapshot() ([]request, []map[string]any) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]request(nil), rv.requests...), append([]map[string]any(nil), rv.accepted...)
}

func (rv *receiver) acceptedCount() int {
	_, acc := rv.snapshot()
	return len(acc)
}

// newSender builds a Sender closed at the end of the test.
func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	cfg.AppKey, cfg.AppSecret = testKey, testSecret
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quiet is a logger for tests that expect drops.
var quiet = slogDiscard()

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
