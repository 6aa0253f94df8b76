package dashapp

import (
	"math"
	"testing"
)

// The quantile of the observations between two snapshots interpolates
// inside the bucket that holds the rank, as histogram_quantile does.
func TestQuantileBetweenSnapshots(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	before := map[float64]uint64{0.001: 10, 0.01: 10, inf: 10}
	now := map[float64]uint64{0.001: 10, 0.01: 110, inf: 110} // 100 new, all in (1ms, 10ms]
	if got := quantile(0.5, now, before); math.Abs(got-0.0055) > 1e-9 {
		t.Fatalf("median %v, want 5.5ms", got)
	}
	if got := quantile(0.99, now, now); got != 0 {
		t.Fatalf("quantile of nothing %v, want 0", got)
	}
	above := map[float64]uint64{0.001: 0, 0.01: 0, inf: 5}
	if got := quantile(0.99, above, map[float64]uint64{}); got != 0.01 {
		t.Fatalf("quantile above every bound %v, want the last bound", got)
	}
}
