package main

import (
	"testing"
	"time"
)

func TestAccount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	// Six publishes over two channels (seq 1..6 → channels 0,1,0,1,0,1);
	// seq 4 failed, seq 6 was never sent.
	pubs := []PubRecord{
		{Chan: 0, Sent: at(1), OK: true},
		{Chan: 1, Sent: at(2), OK: true},
		{Chan: 0, Sent: at(3), OK: true},
		{Chan: 1, Sent: at(4), Err: "HTTP 422 x"},
		{Chan: 0, Sent: at(6), OK: true},
		{Chan: 1},
	}
	faultStart, faultEnd := at(2.5), at(5)
	subs := []SubRecord{
		// Channel 0: got 1 and 5 (5 twice), lost 3, no close.
		{Chan: 0, Receipts: []Receipt{{Seq: 1, At: at(1.1)}, {Seq: 5, At: at(6.2)}, {Seq: 5, At: at(6.3)}}},
		// Channel 0: got 1, then after a reconnect 3 late and 5; one close 4200.
		{Chan: 0, Receipts: []Receipt{{Seq: 1, At: at(1.1)}, {Seq: 3, At: at(5.5), Gen: 1}, {Seq: 5, At: at(6.1), Gen: 1}}, Closes: []int{4200}},
		// Channel 1: got 2 and the failed 4; lost nothing.
		{Chan: 1, Receipts: []Receipt{{Seq: 2, At: at(2.1)}, {Seq: 4, At: at(4.1)}}},
	}
	s := Account(pubs, subs, faultStart, faultEnd)
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Sent", s.Sent, 5)
	check("Acked", s.Acked, 4)
	check("Failed", s.Failed, 1)
	check("Errors", s.Errors["HTTP 422 x"], 1)
	check("Lost", s.Lost, Spread{0, 0, 1})
	check("LostTotal", s.LostTotal, 1)
	check("LostSilent", s.LostSilent, 1)
	check("SubsWithLoss", s.SubsWithLoss, 1)
	check("AckedReachNone", s.AckedReachNone, 0)
	check("Duplicated", s.Duplicated, 1)
	check("UnackedDelivery", s.UnackedDelivery, 1)
	check("FirstAfter", s.FirstAfter, 500*time.Millisecond)
	// Fresh (sent after the end) is only seq 5: receipts at 6.2 and 6.1;
	// the channel-1 subscriber never got one.
	check("ResumeMedian", s.ResumeMedian, 1200*time.Millisecond)
	check("ResumeMax", s.ResumeMax, 1200*time.Millisecond)
	check("NeverResumed", s.NeverResumed, 1)
	check("SubsClosed", s.SubsClosed, 1)
	check("CloseCodes", s.CloseCodes[4200], 1)
	check("AfterReconn", s.AfterReconn, 2)

	// Seq 3 lost by both channel-0 subscribers: reached none.
	subs[1].Receipts = subs[1].Receipts[:1]
	s = Account(pubs, subs, faultStart, faultEnd)
	check("AckedReachNone", s.AckedReachNone, 1)
	check("NoneFrom", s.NoneFrom, 500*time.Millisecond)
	check("NoneTo", s.NoneTo, 500*time.Millisecond)
	check("LostTotal", s.LostTotal, 3)
	check("LostSilent", s.LostSilent, 1)
	check("Lost", s.Lost, Spread{0, 1, 2})
}

func TestSpread(t *testing.T) {
	if got := spread([]int{5, 1, 3, 9}); got != (Spread{1, 5, 9}) {
		t.Errorf("spread = %v", got)
	}
	if got := spread(nil); got != (Spread{}) {
		t.Errorf("spread(nil) = %v", got)
	}
}
