package hub

import "testing"

// perCodecSub is a subscriber of a given codec that accepts or refuses.
type perCodecSub struct {
	recorder
	codec  int
	refuse bool
}

func (s *perCodecSub) Codec() int { return s.codec }
func (s *perCodecSub) Send(frame []byte) bool {
	if s.refuse {
		return false
	}
	return s.recorder.Send(frame)
}

// DeliveredBy counts the frames each codec's subscribers accepted: a
// refused frame counts as dropped, not delivered, and a codec with more
// codecs than the hub keeps on its stack counts too.
func TestDeliveredByCountsPerCodec(t *testing.T) {
	t.Parallel()
	codecs := []Codec{rawCodec{}, rawCodec{}, rawCodec{}, rawCodec{}, rawCodec{}, rawCodec{}}
	h := New(codecs...)
	subs := []*perCodecSub{
		{recorder: recorder{id: "1.1"}, codec: 0},
		{recorder: recorder{id: "1.2"}, codec: 0},
		{recorder: recorder{id: "1.3"}, codec: 1},
		{recorder: recorder{id: "1.4"}, codec: 5},
		{recorder: recorder{id: "1.5"}, codec: 1, refuse: true},
	}
	for _, s := range subs {
		h.Add("orders", s)
	}
	for range 3 {
		h.Deliver(envelope("orders", "Shipped", ""))
	}
	got := h.DeliveredBy()
	want := []uint64{6, 3, 0, 0, 0, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delivered by codec %v, want %v", got, want)
		}
	}
	if st := h.Stats(); st.Delivered != 12 || st.Dropped != 3 {
		t.Fatalf("stats %+v: want 12 delivered, 3 dropped", st)
	}
}
