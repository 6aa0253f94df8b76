//go:build linux

package main

import "testing"

func observeAll(s *Stream, seqs ...uint64) []Outcome {
	var out []Outcome
	for _, q := range seqs {
		out = append(out, s.Observe(q))
	}
	return out
}

func TestStreamInOrder(t *testing.T) {
	var s Stream
	s.Start(1)
	observeAll(&s, 1, 2, 3, 4, 5)
	if s.Uniq != 5 || s.Missing(5) != 0 || s.Dup != 0 || s.Late != 0 {
		t.Fatalf("%+v", s)
	}
	if s.Missing(7) != 2 {
		t.Errorf("two published but not received: missing %d", s.Missing(7))
	}
}

func TestStreamGapDupLate(t *testing.T) {
	var s Stream
	s.Start(10)
	got := observeAll(&s, 8, 10, 12, 12, 11, 11, 15)
	want := []Outcome{Early, InOrder, InOrder, Dup, Late, Dup, InOrder}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("seq #%d: %v, want %v", i, got[i], want[i])
		}
	}
	// 10..15 expected: 13 and 14 never came.
	if s.Expected(15) != 6 || s.Uniq != 4 || s.Missing(15) != 2 {
		t.Errorf("expected %d uniq %d missing %d", s.Expected(15), s.Uniq, s.Missing(15))
	}
	if s.Dup != 2 || s.Late != 1 || s.Early != 1 {
		t.Errorf("dup %d late %d early %d", s.Dup, s.Late, s.Early)
	}
}

func TestStreamNotReadyAndFarLate(t *testing.T) {
	var s Stream
	if s.Observe(3) != Early || s.Expected(100) != 0 {
		t.Fatal("a stream that is not ready expects nothing")
	}
	s.Start(1)
	s.Observe(200)
	if s.Observe(100) != Late || s.Late != 1 {
		t.Errorf("far-late arrival: %+v", s)
	}
	if s.Missing(200) != 198 {
		t.Errorf("missing %d, want 198", s.Missing(200))
	}
}

func TestTallyMissingOfDifference(t *testing.T) {
	before := Tally{Expected: 100, Uniq: 98}
	after := Tally{Expected: 98, Uniq: 98} // a connection closed and was frozen
	if m := after.Sub(before).Missing(); m != 0 {
		t.Errorf("missing %d, want 0", m)
	}
	if m := (Tally{Expected: 150, Uniq: 140}).Sub(before).Missing(); m != 8 {
		t.Errorf("missing %d, want 8", m)
	}
}
