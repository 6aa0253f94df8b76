package redisbroker

import "github.com/velocitykode/velocity/broadcast/broker"

// Watch implements broker.Watcher. A channel's occupancy changes where
// the registry writes them (writeClients, resync, the reaper): the node
// whose write took the channel's registry hash from empty to not empty
// reports it occupied, the one whose write emptied it reports it
// vacated, so each change is reported once for the cluster, one registry
// write after the subscription change (normally a round trip; after a
// failed write, the next heartbeat that reaches Redis). A channel whose
// last subscribers were on a node that died is reported vacated by the
// node that reaps it, within the cleanup bound. When Redis lost its data,
// the resync that writes every node's subscribers again reports their
// channels occupied again.
//
// Members reported are those this node announced itself: a dead node's
// members, departures whose holder died, members written again after
// Redis lost them.
func (b *Broker) Watch(fn func(broker.Change)) {
	if b.started.Load() {
		panic("redisbroker: Watch after Start")
	}
	b.watch.Set(fn)
}
