package main

import "time"

// Slope returns the least-squares slope of ys against xs (units of y per
// unit of x) and false when it is undefined: fewer than two points, or
// every x the same.
func Slope(xs, ys []float64) (float64, bool) {
	n := min(len(xs), len(ys))
	if n < 2 {
		return 0, false
	}
	var mx, my float64
	for i := range n {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx float64
	for i := range n {
		dx := xs[i] - mx
		sxy += dx * (ys[i] - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}

// Sample is the server process at one instant; -1 marks a figure that
// could not be read.
type Sample struct {
	At         time.Duration // since the start of the load
	RSSMiB     float64
	Goroutines int
	FDs        int
	Conns      int // the server's open connections
}

// Slopes are the per-hour least-squares slopes of samples.
type Slopes struct {
	N                         int
	RSSMiB, Goroutines, FDs   float64
	OKRSS, OKGoroutines, OKFD bool
}

// slopesPerHour fits the samples taken at or after from.
func slopesPerHour(samples []Sample, from time.Duration) Slopes {
	var rss, gor, fds, tg, tf, tr []float64
	n := 0
	for _, s := range samples {
		if s.At < from {
			continue
		}
		n++
		h := s.At.Hours()
		if s.RSSMiB >= 0 {
			tr, rss = append(tr, h), append(rss, s.RSSMiB)
		}
		if s.Goroutines >= 0 {
			tg, gor = append(tg, h), append(gor, float64(s.Goroutines))
		}
		if s.FDs >= 0 {
			tf, fds = append(tf, h), append(fds, float64(s.FDs))
		}
	}
	out := Slopes{N: n}
	out.RSSMiB, out.OKRSS = Slope(tr, rss)
	out.Goroutines, out.OKGoroutines = Slope(tg, gor)
	out.FDs, out.OKFD = Slope(tf, fds)
	return out
}
