package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
)

// TestFullQueueDropsOldestAndLogsSparingly blocks the receiver on its
// first request, overfills the queue behind it, then lets it answer.
func TestFullQueueDropsOldestAndLogsSparingly(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rv := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
				return 0
			}
		}
		return http.StatusOK
	})
	var logs testenv.Buffer
	s, err := New(Config{AppKey: testKey, AppSecret: testSecret, Endpoints: []Endpoint{{URL: rv.url()}},
		QueueSize: 3, BatchWindow: time.Millisecond, LogInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Send(MemberAdded("presence-q", "0"))
	waitFor(t, 5*time.Second, "first request in flight", func() bool { r, _ := rv.snapshot(); return len(r) == 1 })
	for i := 1; i < 10; i++ {
		s.Send(MemberAdded("presence-q", fmt.Sprint(i)))
	}
	if st := s.Stats(); st.Queued != 3 || st.Dropped != 6 {
		t.Errorf("stats %+v: want 3 queued, 6 dropped", st)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, evs := rv.snapshot()
	var ids []string
	for _, e := range evs {
		ids = append(ids, e["user_id"].(string))
	}
	if want := []string{"0", "7", "8", "9"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("delivered %v, want %v (oldest dropped)", ids, want)
	}
	// One line at the first drop, one summing up the rest at Close.
	lines := strings.Count(logs.String(), "events dropped")
	if lines != 2 || !strings.Contains(logs.String(), "count=1 ") || !strings.Contains(logs.String(), "count=5 ") {
		t.Errorf("%d drop lines, want 2 (count=1, count=5):\n%s", lines, logs.String())
	}
}
