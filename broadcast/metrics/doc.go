// Package metrics exports the broadcasting server's counts as Prometheus
// metrics. A Collector reads a Snapshot when scraped and turns it into
// constant metrics, so nothing of Prometheus runs while messages flow:
// the server keeps its counts in atomics where things happen and the
// collector only reads them. The families are listed in
// docs/metrics.md.
package metrics
