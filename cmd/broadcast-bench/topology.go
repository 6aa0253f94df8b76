//go:build linux

package main

import (
	"math/rand/v2"
	"strconv"
)

// Topology is who subscribes to what and where publishes go.
type Topology struct {
	Names  []string                  // benchmark channel names; index = channel id
	Subs   func(slot int) []uint32   // channels of the connection in slot
	Pick   func(r *rand.Rand) uint32 // channel of the next publish
	Fanout float64                   // expected subscribers per publish
}

// newTopology builds the channels of a scenario for n connections.
//   - s1: one channel per connection ("s1.<i>"), nothing published.
//   - s2, s4: every connection on channel "s2"; s5 likewise on "s5".
//   - s3: groups of 5 connections share "g.<j>", each connection also has
//     "u.<i>"; a publish goes to a random personal channel with
//     probability personal, else to a random group.
func newTopology(scenario string, n int, personal float64) *Topology {
	switch scenario {
	case "s1":
		t := &Topology{Names: make([]string, n)}
		for i := range t.Names {
			t.Names[i] = "s1." + strconv.Itoa(i)
		}
		t.Subs = func(slot int) []uint32 { return []uint32{uint32(slot)} }
		t.Pick = func(r *rand.Rand) uint32 { return uint32(r.IntN(n)) }
		t.Fanout = 1
		return t
	case "s3":
		groups := n / 5
		t := &Topology{Names: make([]string, groups+n)}
		for j := 0; j < groups; j++ {
			t.Names[j] = "g." + strconv.Itoa(j)
		}
		for i := 0; i < n; i++ {
			t.Names[groups+i] = "u." + strconv.Itoa(i)
		}
		t.Subs = func(slot int) []uint32 {
			return []uint32{uint32(min(slot/5, groups-1)), uint32(groups + slot)}
		}
		t.Pick = func(r *rand.Rand) uint32 {
			if r.Float64() < personal {
				return uint32(groups + r.IntN(n))
			}
			return uint32(r.IntN(groups))
		}
		t.Fanout = personal + (1-personal)*float64(n)/float64(groups)
		return t
	}
	name := "s2"
	if scenario == "s5" {
		name = "s5"
	}
	t := &Topology{Names: []string{name}}
	t.Subs = func(int) []uint32 { return []uint32{0} }
	t.Pick = func(*rand.Rand) uint32 { return 0 }
	t.Fanout = float64(n)
	return t
}
