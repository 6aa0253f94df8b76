// Package natsbroker is the NATS engine of a cluster of websocket
// servers: broadcasts travel on core NATS subjects, and the cluster's
// subscriber registry (GetClients, channel occupancy) and presence
// members live in JetStream key-value buckets, so the server must run
// with JetStream (-js).
//
//	b, err := natsbroker.New(natsbroker.Options{URL: os.Getenv("NATS_URL")})
//	if err != nil {
//		return err // names the URL
//	}
//	srv, err := websocket.NewServer(cfg, websocket.WithBroker(b),
//		websocket.WithPresenceStore(b.Presence()))
//
// drivers.NewNATSDriver does this for an app.
//
// A node subscribes to a channel's subject only while it has local
// subscribers. Channel names map to subjects injectively (subject.go), so
// no name reaches another channel or a wildcard. A Publish is one NATS
// publish per channel and one flush; it fails at once with an error
// wrapping ErrUnavailable while the node is disconnected, and within
// Options.Timeout when NATS does not answer. When the connection comes
// back, nats.go subscribes again and the broker tells the server that its
// channels' subscribers may have missed messages (they resubscribe, as
// with the Redis engine). Messages on the subjects that are not this
// broker's wire format are dropped, counted (Dropped) and logged at most
// once a second.
//
// The registry is written behind (see Broker.Clients for how stale it may
// be); presence joins and leaves are compare-and-set writes of the
// channel's state. A node that dies without closing is removed by the
// survivors within Options.CleanupBound, with member_removed for its
// members. Channel history lives in JetStream streams, one per retention,
// which deliver each publication to every node in offset order.
// docs/natsbroker.md describes the design.
package natsbroker
