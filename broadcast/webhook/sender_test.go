package webhook

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBodiesAndSignatures(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, nil)
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, BatchWindow: 20 * time.Millisecond})
	before := time.Now().UnixMilli()
	s.Send(
		ChannelOccupied("orders"),
		ChannelVacated("orders"),
		MemberAdded("presence-room", "42"),
		MemberRemoved("presence-room", "42"),
		ClientEvent("private-chat", "client-typing", `{"who":"ann","html":"<b>&"}`, "123.456", ""),
		ClientEvent("presence-room", "client-wave", `"hi"`, "1.2", "7"),
		ClientEvent("private-chat", "client-empty", "", "1.3", ""),
		CacheMiss("cache-prices"),
		SubscriptionCount("orders", 0),
		SubscriptionCount("orders", 12),
	)
	waitFor(t, 5*time.Second, "10 events", func() bool { return rv.acceptedCount() == 10 })
	reqs, got := rv.snapshot()
	want := []map[string]any{
		{"name": "channel_occupied", "channel": "orders"},
		{"name": "channel_vacated", "channel": "orders"},
		{"name": "member_added", "channel": "presence-room", "user_id": "42"},
		{"name": "member_removed", "channel": "presence-room", "user_id": "42"},
		{"name": "client_event", "channel": "private-chat", "event": "client-typing", "data": `{"who":"ann","html":"<b>&"}`, "socket_id": "123.456"},
		{"name": "client_event", "channel": "presence-room", "event": "client-wave", "data": `"hi"`, "socket_id": "1.2", "user_id": "7"},
		{"name": "client_event", "channel": "private-chat", "event": "client-empty", "data": "", "socket_id": "1.3"},
		{"name": "cache_miss", "channel": "cache-prices"},
		{"name": "subscription_count", "channel": "orders", "subscription_count": 0.0},
		{"name": "subscription_count", "channel": "orders", "subscription_count": 12.0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 batch", len(reqs))
	}
	var p Payload
	if err := json.Unmarshal(reqs[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if now := time.Now().UnixMilli(); p.TimeMS < before || p.TimeMS > now {
		t.Errorf("time_ms %d outside [%d, %d]", p.TimeMS, before, now)
	}
	if _, err := Verify(testSecret, testKey, reqs[0].header, reqs[0].body); err != nil {
		t.Errorf("Verify: %v", err)
	}
	waitFor(t, 5*time.Second, "the 2xx answer counted", func() bool { return s.Stats().Events == 10 })
	st := s.Stats()
	if st.Events != 10 || st.Requests != 1 || st.Failures != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	all, lifecycle, members := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	s := newSender(t, Config{BatchWindow: 10 * time.Millisecond, Endpoints: []Endpoint{
		{URL: all.url()},
		{URL: lifecycle.url(), Events: []string{NameChannelOccupied, NameChannelVacated}},
		{URL: members.url(), Events: []string{NameMemberAdded}},
	}})
	s.Send(ChannelOccupied("a"), MemberAdded("presence-a", "1"), CacheMiss("cache-a"), ChannelVacated("a"),
		MemberRemoved("presence-a", "1"), SubscriptionCount("a", 3))
	// Fences: each endpoint delivers in order, so once its last wanted
	// event arrived, any unwanted one sent before would have arrived too.
	s.Send(ChannelOccupied("b"), MemberAdded("presence-b", "2"))
	waitFor(t, 5*time.Second, "all events", func() bool { return all.acceptedCount() == 8 })
	waitFor(t, 5*time.Second, "lifecycle events", func() bool { return lifecycle.acceptedCount() >= 3 })
	waitFor(t, 5*time.Second, "member events", func() bool { return members.acceptedCount() >= 2 })
	names := func(rv *receiver) []string {
		_, evs := rv.snapshot()
		var out []string
		for _, e := range evs {
			out = append(out, e["name"].(string))
		}
		return out
	}
	if got := names(lifecycle); !reflect.DeepEqual(got, []string{"channel_occupied", "channel_vacated", "channel_occupied"}) {
		t.Errorf("lifecycle got %v", got)
	}
	if got := names(members); !reflect.DeepEqual(got, []string{"member_added", "member_added"}) {
		t.Errorf("members got %v", got)
	}
}

func TestBatching(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, nil)
	const n, maxBatch = 250, 100
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, MaxBatch: maxBatch, BatchWindow: time.Second})
	for i := range n {
		s.Send(MemberAdded("presence-room", fmt.Sprint(i)))
	}
	waitFor(t, 10*time.Second, "all events", func() bool { return rv.acceptedCount() == n })
	reqs, evs := rv.snapshot()
	if want := (n + maxBatch - 1) / maxBatch; len(reqs) > want {
		t.Errorf("%d POSTs, want at most %d", len(reqs), want)
	}
	for i, e := range evs {
		if e["user_id"] != fmt.Sprint(i) {
			t.Fatalf("event %d is %v: order lost", i, e)
		}
	}
}

func TestBodySizeBound(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, nil)
	const maxBody = 4096
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, MaxBodyBytes: maxBody, BatchWindow: 50 * time.Millisecond, Logger: quiet})
	data := strings.Repeat("x", 900)
	for i := range 20 {
		s.Send(ClientEvent("private-c", "client-big", data, fmt.Sprint(i), ""))
	}
	s.Send(ClientEvent("private-c", "client-huge", strings.Repeat("y", maxBody), "1.1", "")) // cannot fit
	waitFor(t, 5*time.Second, "20 events", func() bool { return rv.acceptedCount() == 20 })
	reqs, _ := rv.snapshot()
	for _, r := range reqs {
		if len(r.body) > maxBody {
			t.Errorf("body of %d bytes > %d", len(r.body), maxBody)
		}
	}
	if len(reqs) < 5 {
		t.Errorf("%d requests for 20 events of 900 bytes in 4 KiB bodies", len(reqs))
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("dropped %d, want the 1 oversized event", st.Dropped)
	}
}

func TestInvalidEventsNotSent(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, nil)
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, BatchWindow: 10 * time.Millisecond, Logger: quiet})
	s.Send(Event{Name: "channel_exploded", Channel: "a"}, Event{Name: NameChannelOccupied}, MemberAdded("presence-a", ""),
		ClientEvent("private-a", "", "x", "1.1", ""), ChannelOccupied("ok"))
	waitFor(t, 5*time.Second, "valid event", func() bool { return rv.acceptedCount() == 1 && s.Stats().Events == 1 })
	if st := s.Stats(); st.Invalid != 4 || st.Events != 1 {
		t.Errorf("stats %+v, want 4 invalid, 1 sent", st)
	}
}
