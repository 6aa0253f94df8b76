package main

import (
	"math"
	"testing"
	"time"
)

func TestSlope(t *testing.T) {
	for _, tc := range []struct {
		xs, ys []float64
		want   float64
		ok     bool
	}{
		{[]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2, true},
		{[]float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0, true},
		{[]float64{0, 1, 2}, []float64{0, 2, 1}, 0.5, true},
		{[]float64{1}, []float64{1}, 0, false},
		{[]float64{2, 2}, []float64{1, 3}, 0, false},
	} {
		got, ok := Slope(tc.xs, tc.ys)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Slope(%v, %v) = %v, %v; want %v, %v", tc.xs, tc.ys, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSlopesPerHour(t *testing.T) {
	// RSS grows 1 MiB per 6 minutes (10/h) after a warm-up jump that the
	// fit must skip; one goroutine reading failed (-1) and is left out.
	var ss []Sample
	for m := 0; m <= 30; m += 6 {
		s := Sample{At: time.Duration(m) * time.Minute, RSSMiB: 100 + float64(m)/6, Goroutines: 5000, FDs: 5010}
		if m == 0 {
			s.RSSMiB, s.Goroutines = 10, 5
		}
		if m == 12 {
			s.Goroutines = -1
		}
		ss = append(ss, s)
	}
	got := slopesPerHour(ss, 6*time.Minute)
	if got.N != 5 || math.Abs(got.RSSMiB-10) > 1e-9 || got.Goroutines != 0 || got.FDs != 0 || !got.OKRSS || !got.OKGoroutines || !got.OKFD {
		t.Errorf("slopesPerHour = %+v", got)
	}
}
