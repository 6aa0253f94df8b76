package broker

import "github.com/velocitykode/velocity/broadcast"

// ChangeKind names a change of the cluster that a Watcher reports.
type ChangeKind uint8

// The changes a Watcher reports.
const (
	// ChannelOccupied: the channel got its first subscriber anywhere in
	// the cluster.
	ChannelOccupied ChangeKind = iota + 1
	// ChannelVacated: the channel's last subscriber in the cluster left,
	// or went with the node that held it.
	ChannelVacated
	// MemberAdded and MemberRemoved: a presence member the broker itself
	// announced (after restoring state its back end lost, or when it
	// removed the members of a dead node or a departure nobody carried
	// out). Members the server adds or removes it reports itself.
	MemberAdded
	MemberRemoved
)

// Change is one change a Watcher reports.
type Change struct {
	Kind    ChangeKind
	Channel string
	// Member is the member of MemberAdded and MemberRemoved (only the
	// user id for MemberRemoved).
	Member broadcast.Member
}

// Watcher is implemented by brokers that see changes of the whole
// cluster no single node can see: which channels have subscribers
// somewhere, and the presence members they announce themselves. The
// server reports channel occupancy from its own subscriptions when its
// broker is not a Watcher, which is right for a single process.
//
// The contract, which brokertest.RunWatch checks:
//
//   - Watch is called at most once, before Start. The broker calls fn
//     from its own goroutines, holding none of its locks; fn does not
//     block.
//   - Each change is reported once for the whole cluster, by the node
//     whose write made it: a channel whose subscribers go from none to
//     some anywhere is reported occupied once, and vacated once when
//     they go back to none (also when the last node holding them died).
//   - The changes one node reports for a channel keep their order. A
//     report may come some time after the subscription change that made
//     it (a shared registry writes behind); the broker documents how
//     long.
//   - Occupancy follows the client registry: a broker that is a Watcher
//     is a ClientRegistry, and the server's AddClient and RemoveClient
//     calls are what it counts.
type Watcher interface {
	Watch(fn func(Change))
}
