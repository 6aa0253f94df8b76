//go:build linux

package main

import (
	"encoding/json"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	m := Msg{ID: 123456789, Chan: 17999, Pub: 7, Seq: 42, TS: 1790000000123456789}
	b := AppendPayload(nil, m, 150)
	if len(b) != 150 {
		t.Errorf("len %d, want 150: %s", len(b), b)
	}
	if !json.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}
	got, ok := ParsePayload(b)
	if !ok || got != m {
		t.Fatalf("got %+v %v, want %+v", got, ok, m)
	}
}

func TestParsePayloadReorderedAndSpaced(t *testing.T) {
	got, ok := ParsePayload([]byte(` { "x" : "pad", "t": -5, "s":3, "p":1,"c":2,"i":9, "extra": 7 } `))
	want := Msg{ID: 9, Chan: 2, Pub: 1, Seq: 3, TS: -5}
	if !ok || got != want {
		t.Errorf("got %+v %v", got, ok)
	}
}

func TestParsePayloadRejects(t *testing.T) {
	for _, s := range []string{``, `[]`, `{"i":1}`, `{"i":1,"c":2,"p":3,"s":4,"t":}`, `{"i":1,"c":2,"p":3,"s":4,"t":5`, `"x"`} {
		if _, ok := ParsePayload([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestAppendPayloadNoAllocWithRoom(t *testing.T) {
	buf := make([]byte, 0, 256)
	m := Msg{ID: 1, Chan: 2, Pub: 3, Seq: 4, TS: 5}
	if n := testing.AllocsPerRun(100, func() { buf = AppendPayload(buf[:0], m, 150) }); n != 0 {
		t.Errorf("AppendPayload allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { ParsePayload(buf) }); n != 0 {
		t.Errorf("ParsePayload allocates %v times", n)
	}
}
