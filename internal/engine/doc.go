// Package engine is the plumbing the distributed brokers (redisbroker,
// natsbroker) share: a Lifecycle for their goroutines and remote calls,
// a Health tracker that logs each outage and recovery once, the option
// defaults and checks whose meaning is the same for both, the heartbeat
// and reaper Schedule derived from the cleanup bound, and the reports to
// a broker.Watcher (occupancy, presence announcements, dropped messages).
package engine
