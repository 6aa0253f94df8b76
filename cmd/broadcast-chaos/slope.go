package main

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
