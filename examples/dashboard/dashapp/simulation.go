package dashapp

import (
	"math"
	"math/rand/v2"
	"time"
)

var products = []string{"Keyboard", "Monitor", "USB-C hub", "Desk lamp", "Headphones", "Webcam", "Laptop stand", "Mouse"}

// simulation produces plausible business figures: active users drift
// around a daily-looking wave, orders arrive as a Poisson process whose
// rate follows the users.
type simulation struct {
	rng         *rand.Rand
	activeUsers int
	totalOrders int
	revenue     float64
	start       time.Time
}

func newSimulation(seed uint64) *simulation {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &simulation{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), activeUsers: 140, totalOrders: 1280, revenue: 84210}
}

// step advances by dt and returns the orders placed meanwhile.
func (s *simulation) step(now time.Time, dt time.Duration) []Order {
	if s.start.IsZero() {
		s.start = now
	}
	phase := now.Sub(s.start).Seconds() / 90 // a slow wave, a period of ~9 minutes
	target := 150 + 40*math.Sin(phase)
	s.activeUsers += int(math.Round((target-float64(s.activeUsers))*0.15 + s.rng.NormFloat64()*3))
	s.activeUsers = max(s.activeUsers, 1)

	rate := float64(s.activeUsers) / 150 * 0.9 * dt.Seconds() // orders expected this step
	var orders []Order
	for n := s.poisson(rate); n > 0; n-- {
		s.totalOrders++
		amount := math.Round((15+s.rng.ExpFloat64()*60)*100) / 100
		s.revenue += amount
		orders = append(orders, Order{ID: s.totalOrders, Product: products[s.rng.IntN(len(products))], Amount: amount, PlacedAt: now.UTC()})
	}
	return orders
}

// revenueRounded is the revenue in cents precision.
func (s *simulation) revenueRounded() float64 { return math.Round(s.revenue*100) / 100 }

// poisson draws a Poisson-distributed count with mean lambda (Knuth).
func (s *simulation) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= s.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
