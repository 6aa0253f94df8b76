// Package enginebench holds benchmarks that run the distributed engines
// (broadcast/redisbroker and broadcast/natsbroker) side by side on the
// same workload; it has no code of its own, only benchmarks.
//
//	go test -run='^$' -bench=CrossNodeFanout ./test/enginebench/
package enginebench
