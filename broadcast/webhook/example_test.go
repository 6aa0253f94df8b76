package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/velocitykode/velocity/broadcast/webhook"
)

func Example() {
	// A receiver, as the application's server would run it.
	got := make(chan webhook.Payload, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p, err := webhook.Verify("app-secret", "app-key", r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got <- p
	}))
	defer receiver.Close()

	endpoints, err := webhook.ParseSpec(receiver.URL + "/hook|channel_occupied+member_added")
	if err != nil {
		panic(err)
	}
	s, err := webhook.New(webhook.Config{AppKey: "app-key", AppSecret: "app-secret", Endpoints: endpoints})
	if err != nil {
		panic(err)
	}
	s.Send(webhook.ChannelOccupied("presence-room"), webhook.MemberAdded("presence-room", "42"), webhook.CacheMiss("cache-x"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil { // delivers what is queued
		panic(err)
	}
	for _, e := range (<-got).Events {
		fmt.Printf("%s channel=%s user_id=%q\n", e.Name, e.Channel, e.UserID)
	}
	st := s.Stats()
	fmt.Printf("sent %d events in %d request(s), dropped %d\n", st.Events, st.Requests, st.Dropped)
	// Output:
	// channel_occupied channel=presence-room user_id=""
	// member_added channel=presence-room user_id="42"
	// sent 2 events in 1 request(s), dropped 0
}
