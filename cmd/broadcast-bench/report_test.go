//go:build linux

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReportComparesTargets(t *testing.T) {
	yes, no := true, false
	rs := []*Result{
		{Target: "native", Scenario: "s1", Phase: "idle", KiBPerConn: 10, ServerCPUPct: 1},
		{Target: "centrifugo", Scenario: "s1", Phase: "idle", KiBPerConn: 40, ServerCPUPct: 2},
		{Target: "native", Scenario: "s2", Phase: "step", OfferedPub: 20, CPUPerDeliv: 3, Pass: &yes},
		{Target: "native", Scenario: "s2", Phase: "step", OfferedPub: 40, CPUPerDeliv: 2, Pass: &yes},
		{Target: "centrifugo", Scenario: "s2", Phase: "step", OfferedPub: 20, CPUPerDeliv: 6, Pass: &yes},
		{Target: "centrifugo", Scenario: "s2", Phase: "step", OfferedPub: 40, CPUPerDeliv: 5, Pass: &no},
		{Target: "native", Scenario: "s2", Phase: "ramp", MaxPassRate: 40, MaxPassDeliv: 80000, Pass: &yes},
		{Target: "centrifugo", Scenario: "s2", Phase: "ramp", MaxPassRate: 20, MaxPassDeliv: 40000, Pass: &yes},
	}
	var b bytes.Buffer
	writeComparison(&b, rs)
	out := b.String()
	for _, want := range []string{
		"| S1 | KiB per connection (RSS ÷ N) | 10.0 | 40.0 | 0.25× |",
		"| S2 | max publishes/s with p99 ≤ 50 ms, no loss | 40 | 20 | 2.00× |",
		"| S2 | server CPU µs/delivery at 20/s (both pass) | 3.00 | 6.00 | 0.50× |",
		"| 40 | ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	rs2, err := loadResults(strings.NewReader("noise\n" + `{"target":"native","scenario":"s1","phase":"idle","kib_per_conn":3}` + "\n"))
	if err != nil || len(rs2) != 1 || rs2[0].KiBPerConn != 3 {
		t.Errorf("loadResults: %v %+v", err, rs2)
	}
}
