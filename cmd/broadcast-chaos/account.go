package main

import (
	"fmt"
	"sort"
	"time"
)

// PubRecord is the fate of one publish; seq n is at index n-1.
type PubRecord struct {
	Chan int       // channel index
	Sent time.Time // zero: never sent (the run ended first)
	OK   bool      // the server acknowledged it (HTTP 2xx)
	Err  string    // why not, when sent and not OK
}

// Receipt is one event a subscriber received.
type Receipt struct {
	Seq uint64
	At  time.Time
	Gen int // connection of the subscriber that got it: 0 first, 1 after one reconnect…
}

// SubRecord is what one subscriber saw over the run.
type SubRecord struct {
	Chan     int
	Receipts []Receipt
	Closes   []int // close code of each connection that ended (not by us)
	// Resubscribes with a since (channels with history), by answer.
	Recovered, NotRecovered int
}

// Spread is the minimum, median and maximum of per-subscriber counts.
type Spread struct{ Min, Median, Max int }

func (s Spread) String() string {
	return fmt.Sprintf("min %d / median %d / max %d", s.Min, s.Median, s.Max)
}

// spread summarizes xs (any order; it sorts a copy).
func spread(xs []int) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	return Spread{Min: s[0], Median: s[len(s)/2], Max: s[len(s)-1]}
}

// Summary is the accounting of one chaos run.
type Summary struct {
	Sent, Acked, Failed int
	Errors              map[string]int // failure reason → publishes

	Subscribers    int
	Lost           Spread // acknowledged but never received, per subscriber
	LostTotal      int
	LostSilent     int // of LostTotal, at subscribers that never saw a close
	SubsWithLoss   int
	AckedReachNone int // acknowledged publishes that no subscriber of their channel received
	// NoneFrom and NoneTo bound the send times of those, from the fault's
	// start (meaningful when AckedReachNone > 0).
	NoneFrom, NoneTo time.Duration
	Duplicated       int // receipts of a sequence already received by that subscriber
	UnackedDelivery  int // receipts of publishes that failed

	FirstAfter    time.Duration // fault end → first receipt of anything (-1: none)
	ResumeMedian  time.Duration // fault end → a subscriber's first receipt of a publish sent after the fault end
	ResumeMax     time.Duration
	NeverResumed  int         // subscribers with no such receipt
	SubsClosed    int         // subscribers that saw at least one close
	CloseCodes    map[int]int // close code → connections
	AfterReconn   int         // receipts on connections after a reconnect
	ReconnectsAll int         // connections that ended and were replaced
	// Resubscribes with a since (-history), by answer.
	Recovered, NotRecovered int
}

// Account computes the Summary of a run whose fault lasted from
// faultStart to faultEnd.
func Account(pubs []PubRecord, subs []SubRecord, faultStart, faultEnd time.Time) Summary {
	s := Summary{Errors: map[string]int{}, CloseCodes: map[int]int{}, Subscribers: len(subs), FirstAfter: -1}
	for _, p := range pubs {
		switch {
		case p.Sent.IsZero():
		case p.OK:
			s.Sent++
			s.Acked++
		default:
			s.Sent++
			s.Failed++
			s.Errors[p.Err]++
		}
	}
	reached := make([]bool, len(pubs))
	var lost []int
	var resume []time.Duration
	for _, sub := range subs {
		got := make([]bool, len(pubs))
		var fresh time.Time
		for _, r := range sub.Receipts {
			if r.Seq == 0 || r.Seq > uint64(len(pubs)) {
				continue
			}
			i := r.Seq - 1
			if got[i] {
				s.Duplicated++
				continue
			}
			got[i] = true
			reached[i] = true
			p := pubs[i]
			if !p.OK {
				s.UnackedDelivery++
			}
			if r.Gen > 0 {
				s.AfterReconn++
			}
			if !r.At.Before(faultEnd) {
				if d := r.At.Sub(faultEnd); s.FirstAfter < 0 || d < s.FirstAfter {
					s.FirstAfter = d
				}
				if !p.Sent.Before(faultEnd) && (fresh.IsZero() || r.At.Before(fresh)) {
					fresh = r.At
				}
			}
		}
		n := 0
		for i, p := range pubs {
			if p.OK && p.Chan == sub.Chan && !got[i] {
				n++
			}
		}
		lost = append(lost, n)
		s.LostTotal += n
		if n > 0 {
			s.SubsWithLoss++
		}
		if len(sub.Closes) == 0 {
			s.LostSilent += n
		} else {
			s.SubsClosed++
		}
		s.Recovered += sub.Recovered
		s.NotRecovered += sub.NotRecovered
		for _, c := range sub.Closes {
			s.CloseCodes[c]++
			s.ReconnectsAll++
		}
		if fresh.IsZero() {
			s.NeverResumed++
		} else {
			resume = append(resume, fresh.Sub(faultEnd))
		}
	}
	watched := map[int]bool{}
	for _, sub := range subs {
		watched[sub.Chan] = true
	}
	for i, p := range pubs {
		if p.OK && !reached[i] && watched[p.Chan] {
			d := p.Sent.Sub(faultStart)
			if s.AckedReachNone == 0 || d < s.NoneFrom {
				s.NoneFrom = d
			}
			if s.AckedReachNone == 0 || d > s.NoneTo {
				s.NoneTo = d
			}
			s.AckedReachNone++
		}
	}
	s.Lost = spread(lost)
	if len(resume) > 0 {
		sort.Slice(resume, func(a, b int) bool { return resume[a] < resume[b] })
		s.ResumeMedian, s.ResumeMax = resume[len(resume)/2], resume[len(resume)-1]
	}
	return s
}
