//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is one measured line: a ramp step, a fixed phase, a ramp
// summary or an idle measurement. Fields that do not apply are omitted.
type Result struct {
	Target        string  `json:"target"`
	Scenario      string  `json:"scenario"`
	Phase         string  `json:"phase"`
	Conns         int     `json:"conns"`
	Subscriptions int     `json:"subscriptions"`
	Seconds       float64 `json:"seconds"`
	Clock         string  `json:"clock,omitempty"`

	// Load phases.
	OfferedPub   float64 `json:"offered_pub_s,omitempty"`
	OfferedDeliv float64 `json:"offered_deliv_s,omitempty"`
	Published    uint64  `json:"published,omitempty"`
	PubErrors    uint64  `json:"publish_errors,omitempty"`
	PubLagMaxMs  float64 `json:"publish_lag_max_ms,omitempty"`
	Expected     uint64  `json:"expected,omitempty"`
	Delivered    uint64  `json:"delivered,omitempty"`
	DeliveredS   float64 `json:"delivered_s,omitempty"`
	Missing      uint64  `json:"missing"`
	Duplicated   uint64  `json:"duplicated"`
	OutOfOrder   uint64  `json:"out_of_order"`
	Early        uint64  `json:"early,omitempty"`
	Unexpected   uint64  `json:"unexpected_closes"`
	Churned      int64   `json:"churn_reconnects,omitempty"`
	ChurnFailed  int64   `json:"churn_failed,omitempty"`
	P50Ms        float64 `json:"p50_ms,omitempty"`
	P99Ms        float64 `json:"p99_ms,omitempty"`
	P999Ms       float64 `json:"p999_ms,omitempty"`
	MaxMs        float64 `json:"max_ms,omitempty"`
	CPUPerDeliv  float64 `json:"server_cpu_us_per_delivery,omitempty"`
	Pass         *bool   `json:"pass,omitempty"`
	MaxPassRate  float64 `json:"max_pass_pub_s,omitempty"`
	MaxPassDeliv float64 `json:"max_pass_deliv_s,omitempty"`
	// Highest rate the server kept up with (no loss, ≥97% delivered, p99 < 1 s).
	MaxSustained    float64 `json:"max_sustained_pub_s,omitempty"`
	MaxSustainedP99 float64 `json:"max_sustained_p99_ms,omitempty"`
	MaxSustainedCPU float64 `json:"max_sustained_cpu_us_per_delivery,omitempty"`

	// Server and generator resources over the window.
	ServerCPUs   float64 `json:"server_cpu_s"`
	ServerCPUPct float64 `json:"server_cpu_pct"`
	ServerRSSMiB float64 `json:"server_rss_mib"`
	RSSMaxMiB    float64 `json:"server_rss_max_mib,omitempty"`
	GenCPUPct    float64 `json:"generator_cpu_pct"`

	// S1.
	ConnectS        float64 `json:"connect_s,omitempty"`
	ConnPerS        float64 `json:"connect_per_s,omitempty"`
	ConnectFailed   int     `json:"connect_failed,omitempty"`
	RSSBaseMiB      float64 `json:"server_rss_base_mib,omitempty"`
	KiBPerConn      float64 `json:"kib_per_conn,omitempty"`
	KiBPerConnDelta float64 `json:"kib_per_conn_delta,omitempty"`

	// S4.
	SlowConns        int         `json:"slow_conns,omitempty"`
	SlowClosedCode   int         `json:"slow_closed_slow_code,omitempty"`
	SlowCloseCodes   map[int]int `json:"slow_close_codes,omitempty"`
	SlowStillOpen    int         `json:"slow_still_open,omitempty"`
	ServerSlowClosed float64     `json:"server_slow_closed,omitempty"`
	P99BaselineMs    float64     `json:"p99_baseline_ms,omitempty"`
	DelivBaselineS   float64     `json:"delivered_s_baseline,omitempty"`

	// Channel history: the server's rules as given with -history, and
	// the subscription acknowledgements of the run, with a stream position
	// (the channel keeps history) and in all.
	History    string `json:"history,omitempty"`
	StreamAcks uint64 `json:"stream_acks,omitempty"`
	Acks       uint64 `json:"acks,omitempty"`

	// S5 recovery.
	RecoverySubs       int     `json:"recovery_subs,omitempty"`        // subscribers that went away
	Missed             uint64  `json:"missed,omitempty"`               // publishes while they were away
	LivePublished      uint64  `json:"live_published,omitempty"`       // -live: publishes while they recovered
	ReconnectURL       string  `json:"reconnect_url,omitempty"`        // when not -url
	RecoverFailed      int     `json:"recover_failed,omitempty"`       // reconnects that failed
	RecoveredTrue      int     `json:"recovered_true,omitempty"`       // acknowledgements with recovered:true
	RecoveredFalse     int     `json:"recovered_false,omitempty"`      // … with recovered:false
	EpochChanged       int     `json:"epoch_changed,omitempty"`        // … with another epoch than the since
	RecoveryIncomplete int     `json:"recovery_incomplete,omitempty"`  // subscribers without every missed event at the deadline
	ReplayExpected     uint64  `json:"replay_expected,omitempty"`      // Σ missed events over subscribers
	ReplayDelivered    uint64  `json:"replay_delivered,omitempty"`     // Σ distinct missed events received
	LiveDelivered      uint64  `json:"live_delivered,omitempty"`       // Σ distinct events after them
	OffsetLost         uint64  `json:"offset_lost,omitempty"`          // offsets skipped or never received
	OffsetDups         uint64  `json:"offset_duplicated,omitempty"`    // offsets received again (or backwards)
	NoOffset           uint64  `json:"no_offset,omitempty"`            // events without an offset
	RecoveryP50Ms      float64 `json:"recovery_p50_ms,omitempty"`      // reconnect → last missed event
	RecoveryP99Ms      float64 `json:"recovery_p99_ms,omitempty"`      //
	RecoveryMaxMs      float64 `json:"recovery_max_ms,omitempty"`      //
	RecoveryTotalMs    float64 `json:"recovery_total_ms,omitempty"`    // first reconnect → last subscriber recovered
	ServerRecovered    float64 `json:"server_recovered,omitempty"`     // the server's /stats recovered count
	ServerNotRecovered float64 `json:"server_not_recovered,omitempty"` // … and not_recovered

	// Redis (-redis-addr): INFO commandstats deltas over the window ÷
	// publishes. Redis counts the commands a script runs as well as the
	// EVALSHA that ran it; the INFO calls of this tool are left out.
	RedisPerPub     map[string]float64 `json:"redis_calls_per_publish,omitempty"`
	RedisCmdsPerPub float64            `json:"redis_commands_per_publish,omitempty"` // every command, nested ones included
	RedisScripts    float64            `json:"redis_scripts_per_publish,omitempty"`  // EVALSHA + EVAL: a publish with history is one
	RedisCPUs       float64            `json:"redis_cpu_s,omitempty"`

	// NATS (-nats-monitor): /varz deltas over the window ÷ publishes:
	// messages the server received from its clients (the nodes' publishes,
	// flush PINGs not included, KV writes and heartbeats included) and
	// messages it delivered to subscriptions.
	NATSInPerPub  float64 `json:"nats_in_msgs_per_publish,omitempty"`
	NATSOutPerPub float64 `json:"nats_out_msgs_per_publish,omitempty"`
	NATSCPUs      float64 `json:"nats_cpu_s,omitempty"` // nats-server CPU (-nats-pid)

	Note string `json:"note,omitempty"`
}

func (r *Result) writeJSON(w io.Writer) {
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", b)
}

// printTable writes a readable summary of results.
func printTable(w io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var idle, load, rec []*Result
	for _, r := range results {
		switch r.Phase {
		case "idle":
			idle = append(idle, r)
		case "recovery":
			rec = append(rec, r)
		default:
			load = append(load, r)
		}
	}
	if len(idle) > 0 {
		fmt.Fprintln(tw, "target\tscen\tconns\tconn/s\tRSS MiB\tKiB/conn\tΔKiB/conn\tidle CPU%\tgen CPU%\tfailed\tcloses\t")
		for _, r := range idle {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.2f\t%.0f\t%d\t%d\t\n", r.Target, r.Scenario, r.Conns,
				r.ConnPerS, r.ServerRSSMiB, r.KiBPerConn, r.KiBPerConnDelta, r.ServerCPUPct, r.GenCPUPct, r.ConnectFailed, r.Unexpected)
		}
		fmt.Fprintln(tw)
	}
	if len(load) > 0 {
		fmt.Fprintln(tw, "target\tscen\tphase\tpub/s\tdeliv/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tmiss\tdup\tooo\tcloses\tsrv CPU%\tµs/deliv\tRSS MiB\tgen CPU%\tpass\t")
		for _, r := range load {
			pass := ""
			if r.Pass != nil {
				pass = map[bool]string{true: "yes", false: "NO"}[*r.Pass]
			}
			rate := r.OfferedPub
			if r.Phase == "ramp" {
				rate = r.MaxPassRate
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.1f\t%.0f\t%s\t\n",
				r.Target, r.Scenario, r.Phase, rate, r.DeliveredS, r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs,
				r.Missing, r.Duplicated, r.OutOfOrder, r.Unexpected, r.ServerCPUPct, r.CPUPerDeliv, r.ServerRSSMiB, r.GenCPUPct, pass)
		}
	}
	if len(rec) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "target\tscen\tsubs\tmissed\tlive pub\trecovered\tnot rec\tfailed\tincomplete\treplayed/expected\tlive deliv\tlost\tdup\tseq miss\tseq dup\tseq ooo\trec p50 ms\trec p99 ms\trec max ms\ttotal ms\tlive p99 ms\tpass\t")
		for _, r := range rec {
			pass := map[bool]string{true: "yes", false: "NO"}[r.Pass != nil && *r.Pass]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%s\t\n",
				r.Target, r.Scenario, r.RecoverySubs, r.Missed, r.LivePublished, r.RecoveredTrue, r.RecoveredFalse, r.RecoverFailed,
				r.RecoveryIncomplete, r.ReplayDelivered, r.ReplayExpected, r.LiveDelivered, r.OffsetLost, r.OffsetDups,
				r.Missing, r.Duplicated, r.OutOfOrder, r.RecoveryP50Ms, r.RecoveryP99Ms, r.RecoveryMaxMs, r.RecoveryTotalMs, r.P99Ms, pass)
		}
	}
	tw.Flush()
	for _, r := range results {
		if r.History != "" {
			fmt.Fprintf(w, "history (%s %s %s): %s; %d of %d subscriptions acknowledged with a stream position\n",
				r.Target, r.Scenario, r.Phase, r.History, r.StreamAcks, r.Acks)
		}
		if r.RedisPerPub != nil {
			fmt.Fprintf(w, "redis (%s %s %s): %.2f commands/publish (%.2f EVALSHA/EVAL), %s; Redis CPU %.2fs\n",
				r.Target, r.Scenario, r.Phase, r.RedisCmdsPerPub, r.RedisScripts, formatPerPub(r.RedisPerPub), r.RedisCPUs)
		}
		if r.NATSInPerPub > 0 {
			fmt.Fprintf(w, "nats (%s %s %s): %.2f messages in/publish, %.2f out/publish; NATS CPU %.2fs\n",
				r.Target, r.Scenario, r.Phase, r.NATSInPerPub, r.NATSOutPerPub, r.NATSCPUs)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "note (%s %s %s): %s\n", r.Target, r.Scenario, r.Phase, strings.TrimSpace(r.Note))
		}
	}
}

// formatPerPub lists commands per publish, most frequent first.
func formatPerPub(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	rare := 0
	for _, k := range names {
		if m[k] < 0.005 {
			rare++
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	if rare > 0 {
		parts = append(parts, fmt.Sprintf("%d more under 0.005", rare))
	}
	return strings.Join(parts, ", ")
}
