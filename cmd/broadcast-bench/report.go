//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// loadResults reads JSON result lines (other lines are skipped).
func loadResults(r io.Reader) ([]*Result, error) {
	var out []*Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		res := &Result{}
		if err := json.Unmarshal([]byte(line), res); err != nil {
			return nil, fmt.Errorf("%.60s: %w", line, err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// runReport prints a markdown comparison of the results in files.
func runReport(w io.Writer, files []string) error {
	var all []*Result
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		rs, err := loadResults(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, rs...)
	}
	writeComparison(w, all)
	return nil
}

// find returns the last result matching target, scenario and phase.
func find(rs []*Result, target, scen, phase string) *Result {
	var got *Result
	for _, r := range rs {
		if r.Target == target && r.Scenario == scen && r.Phase == phase {
			got = r
		}
	}
	return got
}

// writeSteps prints, for every rate both targets were stepped at, the two
// servers' latency and cost side by side.
func writeSteps(w io.Writer, rs []*Result, scen string) {
	steps := map[string]map[float64]*Result{"native": {}, "centrifugo": {}}
	for _, r := range rs {
		if r.Scenario == scen && r.Phase == "step" && steps[r.Target] != nil {
			steps[r.Target][r.OfferedPub] = r
		}
	}
	var rates []float64
	for rate := range steps["native"] {
		if steps["centrifugo"][rate] != nil {
			rates = append(rates, rate)
		}
	}
	if len(rates) == 0 {
		return
	}
	slices.Sort(rates)
	fmt.Fprintf(w, "\n%s steps measured for both (ours / Centrifugo):\n\n", strings.ToUpper(scen))
	fmt.Fprintln(w, "| publishes/s | deliveries/s | p50 ms | p99 ms | server CPU µs/delivery | CPU ratio | server CPU % | lost+closed | pass |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, rate := range rates {
		a, b := steps["native"][rate], steps["centrifugo"][rate]
		ratio := "–"
		if b.CPUPerDeliv > 0 {
			ratio = fmt.Sprintf("%.2f×", a.CPUPerDeliv/b.CPUPerDeliv)
		}
		yes := func(r *Result) string {
			if r.Pass != nil && *r.Pass {
				return "yes"
			}
			return "no"
		}
		fmt.Fprintf(w, "| %.0f | %.0f / %.0f | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f | %s | %.0f / %.0f | %d / %d | %s / %s |\n",
			rate, a.DeliveredS, b.DeliveredS, a.P50Ms, b.P50Ms, a.P99Ms, b.P99Ms, a.CPUPerDeliv, b.CPUPerDeliv, ratio,
			a.ServerCPUPct, b.ServerCPUPct, a.Missing+a.Unexpected, b.Missing+b.Unexpected, yes(a), yes(b))
	}
}

// commonStep returns, for each target, its passing step at the highest
// rate both targets passed.
func commonStep(rs []*Result, scen string) (ours, theirs *Result) {
	pass := func(target string) map[float64]*Result {
		m := map[float64]*Result{}
		for _, r := range rs {
			if r.Target == target && r.Scenario == scen && r.Phase == "step" && r.Pass != nil && *r.Pass {
				m[r.OfferedPub] = r
			}
		}
		return m
	}
	a, b := pass("native"), pass("centrifugo")
	best := -1.0
	for rate := range a {
		if b[rate] != nil && rate > best {
			best = rate
		}
	}
	if best < 0 {
		return nil, nil
	}
	return a[best], b[best]
}

type row struct {
	name, target string
	get          func(*Result) float64
	format       string
	zeroIsNone   bool // 0 means "nothing passed": print none, no ratio
}

func writeComparison(w io.Writer, rs []*Result) {
	fmt.Fprintln(w, "| scenario | metric | ours | Centrifugo | ours ÷ Centrifugo | target |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|")
	line := func(scen string, rw row, a, b *Result) {
		if a == nil && b == nil {
			return
		}
		cell := func(r *Result) (string, float64) {
			if r == nil {
				return "–", 0
			}
			v := rw.get(r)
			if v == 0 && rw.zeroIsNone {
				return "none", 0
			}
			return fmt.Sprintf(rw.format, v), v
		}
		sa, va := cell(a)
		sb, vb := cell(b)
		ratio := "–"
		if a != nil && b != nil && vb != 0 && va != 0 {
			ratio = fmt.Sprintf("%.2f×", va/vb)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", scen, rw.name, sa, sb, ratio, rw.target)
	}
	pair := func(scen, phase string) (*Result, *Result) {
		return find(rs, "native", scen, phase), find(rs, "centrifugo", scen, phase)
	}
	a, b := pair("s1", "idle")
	for _, rw := range []row{
		{"KiB per connection (RSS ÷ N)", "≤ 0.25×", func(r *Result) float64 { return r.KiBPerConn }, "%.1f", false},
		{"KiB per connection (ΔRSS ÷ N)", "", func(r *Result) float64 { return r.KiBPerConnDelta }, "%.1f", false},
		{"idle CPU %", "≤ 0.6×", func(r *Result) float64 { return r.ServerCPUPct }, "%.2f", false},
		{"connect+subscribe /s", "", func(r *Result) float64 { return r.ConnPerS }, "%.0f", false},
	} {
		line("S1", rw, a, b)
	}
	for _, scen := range []string{"s2", "s3"} {
		S := strings.ToUpper(scen)
		a, b := pair(scen, "ramp")
		for _, rw := range []row{
			{"max publishes/s with p99 ≤ 50 ms, no loss", "≥ 2×", func(r *Result) float64 { return r.MaxPassRate }, "%.0f", true},
			{"deliveries/s at that rate", "", func(r *Result) float64 { return r.MaxPassDeliv }, "%.0f", true},
			{"p99 ms at that rate", "", func(r *Result) float64 { return pick(r.MaxPassRate, r.P99Ms) }, "%.2f", true},
			{"server CPU µs/delivery at that rate", "", func(r *Result) float64 { return pick(r.MaxPassRate, r.CPUPerDeliv) }, "%.2f", true},
		} {
			line(S, rw, a, b)
		}
		line(S, row{"max sustained publishes/s (no loss, p99 < 1 s)", "", func(r *Result) float64 { return r.MaxSustained }, "%.0f", true}, a, b)
		line(S, row{"p99 ms at the max sustained rate", "", func(r *Result) float64 { return r.MaxSustainedP99 }, "%.1f", true}, a, b)
		line(S, row{"server CPU µs/delivery at the max sustained rate", "", func(r *Result) float64 { return r.MaxSustainedCPU }, "%.2f", true}, a, b)
		ca, cb := commonStep(rs, scen)
		if ca != nil {
			cpuTarget := map[string]string{"s2": "≤ 0.7×", "s3": "≤ 0.5×"}[scen]
			line(S, row{fmt.Sprintf("server CPU µs/delivery at %.0f/s (both pass)", ca.OfferedPub), cpuTarget,
				func(r *Result) float64 { return r.CPUPerDeliv }, "%.2f", false}, ca, cb)
		}
	}
	for _, scen := range []string{"s2", "s3"} {
		if a := find(rs, "native", scen, "ramp"); a != nil && a.RedisPerPub != nil {
			line(strings.ToUpper(scen), row{"Redis commands per publish (those scripts run included)", "", func(r *Result) float64 { return r.RedisCmdsPerPub }, "%.2f", false}, a, nil)
			line(strings.ToUpper(scen), row{"Redis scripts per publish", "", func(r *Result) float64 { return r.RedisScripts }, "%.2f", false}, a, nil)
		}
		if a := find(rs, "native", scen, "ramp"); a != nil && a.NATSInPerPub > 0 {
			line(strings.ToUpper(scen), row{"NATS messages in per publish (from the nodes)", "", func(r *Result) float64 { return r.NATSInPerPub }, "%.2f", false}, a, nil)
			line(strings.ToUpper(scen), row{"NATS messages out per publish (to subscriptions)", "", func(r *Result) float64 { return r.NATSOutPerPub }, "%.2f", false}, a, nil)
		}
	}
	if a := find(rs, "native", "s5", "recovery"); a != nil {
		for _, rw := range []row{
			{"subscribers that reconnected with since", "", func(r *Result) float64 { return float64(r.RecoverySubs) }, "%.0f", false},
			{"events published while they were away", "", func(r *Result) float64 { return float64(r.Missed) }, "%.0f", false},
			{"live events published while they recovered", "", func(r *Result) float64 { return float64(r.LivePublished) }, "%.0f", false},
			{"answered recovered:true", "all", func(r *Result) float64 { return float64(r.RecoveredTrue) }, "%.0f", false},
			{"missed events replayed ÷ expected", "1", func(r *Result) float64 { return float64(r.ReplayDelivered) / max(1, float64(r.ReplayExpected)) }, "%.4f", false},
			{"lost + duplicated (offsets and sequences)", "0", func(r *Result) float64 {
				return float64(r.OffsetLost + r.OffsetDups + r.Missing + r.Duplicated + r.OutOfOrder)
			}, "%.0f", false},
			{"recovery time p50 ms (reconnect → last missed event)", "", func(r *Result) float64 { return r.RecoveryP50Ms }, "%.1f", false},
			{"recovery time p99 ms", "", func(r *Result) float64 { return r.RecoveryP99Ms }, "%.1f", false},
			{"recovery time max ms", "", func(r *Result) float64 { return r.RecoveryMaxMs }, "%.1f", false},
			{"all recovered, ms from the first reconnect", "", func(r *Result) float64 { return r.RecoveryTotalMs }, "%.1f", false},
			{"server CPU µs per delivered event", "", func(r *Result) float64 { return r.CPUPerDeliv }, "%.2f", false},
		} {
			line("S5", rw, a, nil)
		}
		if a.RedisPerPub != nil {
			line("S5", row{"Redis scripts per publish (history reads included)", "", func(r *Result) float64 { return r.RedisScripts }, "%.2f", false}, a, nil)
		}
	}
	var hist []string
	for _, r := range rs {
		if r.History != "" && r.Phase != "step" && !slices.Contains(hist, r.Scenario+": "+r.History) {
			hist = append(hist, r.Scenario+": "+r.History)
		}
	}
	if len(hist) > 0 {
		fmt.Fprintf(w, "\nChannel history on our server (BROADCAST_HISTORY) — %s.\n", strings.Join(hist, "; "))
	}
	for _, scen := range []string{"s2", "s3"} {
		writeSteps(w, rs, scen)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | metric | ours | Centrifugo | ours ÷ Centrifugo | target |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|")
	for _, scen := range []string{"s4", "s4o"} {
		a, b := pair(scen, "slow")
		for _, rw := range []row{
			{"healthy p99 ms, all reading", "", func(r *Result) float64 { return r.P99BaselineMs }, "%.2f", false},
			{"healthy p99 ms, 10% not reading", "within 10% of baseline", func(r *Result) float64 { return r.P99Ms }, "%.2f", false},
			{"healthy deliveries/s, all reading", "", func(r *Result) float64 { return r.DelivBaselineS }, "%.0f", false},
			{"healthy deliveries/s, 10% not reading", "unchanged", func(r *Result) float64 { return r.DeliveredS }, "%.0f", false},
			{"healthy lost or out of order", "0", func(r *Result) float64 { return float64(r.Missing + r.OutOfOrder + r.Duplicated + r.Unexpected) }, "%.0f", false},
			{"slow readers (count)", "", func(r *Result) float64 { return float64(r.SlowConns) }, "%.0f", false},
			{"stalled readers closed by the server for not keeping up (4408; Centrifugo 3008/3009)", "all slow readers", func(r *Result) float64 { return r.ServerSlowClosed }, "%.0f", false},
			{"slow readers closed (seen by the client)", "", func(r *Result) float64 { return float64(r.SlowConns - r.SlowStillOpen) }, "%.0f", false},
			{"server RSS max MiB", "bounded", func(r *Result) float64 { return r.RSSMaxMiB }, "%.1f", false},
		} {
			line(strings.ToUpper(scen), rw, a, b)
		}
		if a != nil || b != nil {
			fmt.Fprintf(w, "| %s | rate, publishes/s | %s | %s | | |\n", strings.ToUpper(scen), rateOf(a), rateOf(b))
		}
	}
}

// pick returns v when a step passed (rate > 0), else 0.
func pick(rate, v float64) float64 {
	if rate == 0 {
		return 0
	}
	return v
}

func rateOf(rs ...*Result) string {
	for _, r := range rs {
		if r != nil {
			return fmt.Sprintf("%.0f", r.OfferedPub)
		}
	}
	return "?"
}
