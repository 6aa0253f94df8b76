// Package redisbroker lets several processes of one app behave as one
// broadcasting server. It implements, on go-redis v9 (a UniversalClient:
// one server, Sentinel or Cluster), the back-end contract of
// broadcast/broker, and passes its conformance suite:
//
//   - Broker (broker.Broker): Publish sends an envelope to every node
//     subscribed to one of its channels; each node's subscription loop
//     hands it to the node's hub, which alone does local fan-out.
//   - Broker (broker.ClientRegistry): the subscribers of every node, for a
//     cluster-wide GetClients.
//   - Presence (broker.PresenceStore): presence members of the whole
//     cluster, with the per-user semantics of broker.MemoryPresence.
//
// It knows nothing of sockets or wire protocols. Wire it with
// drivers.NewRedisDriver, or by hand:
//
//	b, err := redisbroker.New(redisbroker.Options{URL: os.Getenv("REDIS_URL")})
//	srv, err := websocket.NewServer(cfg, websocket.WithBroker(b), websocket.WithPresenceStore(b.Presence()))
//
// srv.Shutdown closes the broker.
//
// # Messages
//
// A Publish encodes the message once (a small binary header with event,
// except socket id and client-event user id, then the JSON data; see
// codec.go) and sends it with one PUBLISH per channel, all in one
// pipeline: one round trip per emit. On Redis Cluster (7.0+) it uses
// SPUBLISH and SSUBSCRIBE: channels are spread by FNV-1a over
// Options.Partitions hash tags, one pub/sub connection per partition. A
// node subscribes to a channel's Redis channel only while it has local
// subscribers; Subscribe returns once Redis confirmed the subscription
// (a PING on the same connection came back), so an emit that follows a
// subscription_succeeded reaches it. Messages that do not decode
// (another app writing on the channel) are dropped and logged, at most
// one log line a second.
//
// # Stored in Redis
//
// Shown with the default Options.Prefix "velocity:"; CH is an app
// channel, N a node id. A channel's keys share the hash tag {CH}, so each
// Lua script touches one Cluster slot.
//
//	velocity:{CH}:presence:members  hash   user id → member JSON (newest connection's info)
//	velocity:{CH}:presence:refs     hash   user id → number of the user's connections
//	velocity:{CH}:presence:conns    hash   socket id → "N<TAB>user id" (owner node)
//	velocity:{CH}:clients           hash   socket id → N, every subscriber (GetClients)
//	velocity:{CH}:presence:version  hash   v → presence version, e → epoch (µs of Redis time)
//	velocity:node:N                 string heartbeat, TTL 2/3 of CleanupBound (20s)
//	velocity:node:N:channels        set    channels where N has entries
//	velocity:nodes                  set    registered node ids
//	velocity:ch:CH                  pub/sub channel (velocity:{i}:ch:CH sharded, partition i)
//
// Only the heartbeat has a TTL. Every other entry belongs to a node and
// is deleted when its connection leaves, when its node closes, or when a
// surviving node reaps its dead owner; empty hashes vanish with their
// last field, and the presence version with the channel's last presence
// connection. If every node dies, the next node
// to start reaps them.
//
// # Member events in order
//
// Every membership change (a user's first connection to a presence
// channel, a user's last one leaving) moves the channel's presence
// version forward in the same script; the joiner's member list comes with
// the version it reflects, and member_added / member_removed carry the
// version of their change (broker.Envelope.Version). Each connection
// skips the member events at or before its list's version, so two users
// joining at once on two nodes learn about each other exactly once:
// from the list or from one member_added, never both and never neither
// (websocket parks member events that arrive during a join on their
// channel until the joiner is in the hub). The version key also records
// the epoch at which the channel's presence state began; when Redis
// loses it, the members written again are announced with the new epoch
// and reach only the lists taken since, which lack them. Versions are
// Redis's clock in microseconds (Redis 5 or later: scripts call TIME): a
// Redis that restarts empty with its clock set back makes connections
// older than the restart skip member events until they reconnect.
//
// # Crash-cleanup bound
//
// Each node refreshes its heartbeat every third of the TTL and every
// node looks for registered nodes whose heartbeat expired every
// CleanupBound/6. A node killed just after a heartbeat expires after
// 2/3 of the bound and is found at the latest 1/6 later, so its members
// are removed, and member_removed published to every node, within 5/6
// of CleanupBound (default 30s, so 25s) plus a few round trips. All
// nodes must use the same bound. Reaping runs an atomic script per
// channel, so survivors reaping at once publish each member_removed once.
// A node that was taken for dead (a pause longer than the TTL) or whose
// Redis restarted empty notices at its next heartbeat and writes its
// entries again. The member_added it publishes for the users it brings
// back reach the subscribers whose lists lack them: everyone after a
// reaping (which announced member_removed), only those who joined after
// the loss after a restart (see "Member events in order").
//
// # Presence grace
//
// Presence implements broker.GracefulPresence, cluster-wide: a departure
// held for websocket.Config.PresenceGracePeriod lives in Redis (the
// member stays in the members hash; a sorted set per channel maps the
// user to the deadline), so a rejoin on any node cancels it in the join
// script itself and announces nothing. The holding node carries the
// departure out at its deadline; the expiry script removes the member
// only if that very departure is still held, so exactly one node
// publishes its member_removed. Each held departure is also in an
// app-wide index (Prefix + "presence:grace"), which every node's reaper
// sweeps every CleanupBound/6 for departures overdue by that long: when
// the holder was killed, a survivor carries them out within a sixth to a
// third of CleanupBound after the deadline. A node that dies with its
// users still connected is reaped as before: its members are removed
// directly, the heartbeat TTL having given them longer than a grace
// period to come back on another node. Close, too, removes the members
// it still holds at once.
//
// # Outages
//
// Every command is bounded by Options.Timeout. While Redis is away, local
// connections stay up, Publish and new subscriptions fail at once or
// within the timeout, Healthy reports false, Health returns the cause
// and one error line is logged; presence and subscriber writes that
// failed are remembered. Each pub/sub connection reconnects with a
// jittered backoff capped at 1s, resubscribes every channel it still
// needs, and the node then re-registers its presence and subscribers;
// one info line says so. What was published while a connection was down
// never reaches the node, so once it has resubscribed it hands its own
// deliver func a broker.EventResync for that connection's channels (the
// server then makes their subscribers resubscribe). On Cluster a failed
// connection also reloads the slot map, so that a promoted replica is
// used at once.
//
// # Concurrency
//
// All methods are safe for concurrent use. As broker.Broker requires,
// Subscribe and Unsubscribe calls for one channel must not overlap. The
// deliver function given to Start is called from the pub/sub reader
// goroutines, one per partition, and must not block (the hub only
// enqueues). Presence writes of one channel are serialized with its
// resynchronization by a striped lock held across their Redis round trip,
// never across a callback; the websocket server runs one channel's
// presence changes one at a time. The client registry writes behind
// (clients.go): AddClient and RemoveClient never wait for Redis. Close
// (or CloseContext, bounded by its context) stops every goroutine the
// broker started.
package redisbroker
