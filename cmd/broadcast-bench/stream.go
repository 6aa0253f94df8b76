//go:build linux

package main

// Stream accounts for the messages of one publisher on one channel as seen
// by one subscription. Sequences start at 1 and grow by one per message.
// A stream becomes ready at a first expected sequence (the publisher's
// last sequence when the subscription was confirmed, plus one): earlier
// messages may or may not arrive and are only counted as Early. The zero
// Stream is not ready.
type Stream struct {
	First uint64 // first expected sequence; 0 while not ready
	Hi    uint64 // highest sequence seen (First-1 before any)
	Bits  uint64 // bit k set: sequence Hi-k was received
	Uniq  uint64 // distinct expected sequences received
	Dup   uint64 // sequences received again
	Late  uint64 // sequences received after a higher one (out of order)
	Early uint64 // sequences before First (or before ready)
}

// Outcome classifies one received sequence.
type Outcome uint8

// Outcomes of Stream.Observe.
const (
	InOrder Outcome = iota // the next sequence, or one after a gap
	Late                   // below the highest seen and not seen before
	Dup                    // seen before
	Early                  // not expected: before the stream was ready
)

// seqWindow is how far below Hi duplicates are told from late arrivals;
// anything further is counted Late.
const seqWindow = 64

// Start makes the stream ready: sequences from first on are expected.
func (s *Stream) Start(first uint64) {
	if first == 0 {
		first = 1
	}
	*s = Stream{First: first, Hi: first - 1, Bits: ^uint64(0), Early: s.Early}
}

// Observe records one received sequence.
func (s *Stream) Observe(seq uint64) Outcome {
	if s.First == 0 || seq < s.First {
		s.Early++
		return Early
	}
	if seq > s.Hi {
		shift := seq - s.Hi
		if shift >= seqWindow {
			s.Bits = 0
		} else {
			s.Bits <<= shift
		}
		s.Bits |= 1
		s.Hi = seq
		s.Uniq++
		return InOrder
	}
	k := s.Hi - seq
	if k >= seqWindow {
		s.Uniq++
		s.Late++
		return Late
	}
	if s.Bits&(1<<k) != 0 {
		s.Dup++
		return Dup
	}
	s.Bits |= 1 << k
	s.Uniq++
	s.Late++
	return Late
}

// Expected returns how many sequences the stream should have received when
// the publisher's last sequence is last.
func (s *Stream) Expected(last uint64) uint64 {
	if s.First == 0 || last < s.First {
		return 0
	}
	return last - s.First + 1
}

// Missing returns the expected sequences not received, given last.
func (s *Stream) Missing(last uint64) uint64 {
	e := s.Expected(last)
	if s.Uniq >= e {
		return 0
	}
	return e - s.Uniq
}
