// Package websocket serves browser connections for Velocity Broadcast and
// is the WebSocket driver: a [Server] owns the local hub, the connections
// and a [Broker] that carries messages between nodes.
//
// Two wire protocols share one hub, so one Emit reaches every client once,
// whatever it speaks:
//
//   - the native JSON protocol ([Server.ServeHTTP], mounted at /ws), and
//   - the Pusher Channels protocol v7 ([Server.ServePusher], mounted at
//     {prefix}/app/{key}), so unmodified pusher-js 8 and laravel-echo 2
//     clients connect.
//
// The hub encodes a message once per protocol (codec index 0 native, 1
// Pusher) and hands the same bytes to every subscriber of that protocol.
// Socket ids have Pusher's "digits.digits" form on both protocols, so
// ToOthers / X-Socket-ID, GetClients and presence membership are shared.
//
// # Concurrency
//
// Each connection has one read goroutine, which owns its subscriptions and
// its protocol state (for Pusher: the signed-in user), and a bounded
// outbound queue with at most one writer at a time. Usually the writer is
// one of the server's flushers (one per processor): a connection that gets
// a frame is marked dirty, and the flusher gives it one non-blocking write
// of everything queued, so a delivery costs no goroutine. A connection
// that gets frames back to back waits up to WriteCoalesce so that they
// share a write. When a socket is full, that connection's writes move to
// a goroutine of its own that waits under WriteTimeout; nobody else waits
// for it. Connections without
// a file descriptor (TLS served in-process) always use their own writer
// goroutine. Authorizers and presence hooks run outside the server's
// locks; no lock is held across socket I/O.
//
// # Pusher protocol: choices
//
// /work/shared/PUSHER.md is the reference. Where Pusher, Reverb and Soketi
// disagree, this package chose what keeps pusher-js and laravel-echo
// happiest:
//
//   - Double encoding: every server frame's "data" is a JSON string
//     (Pusher, Reverb), also for pusher:error, pusher:pong ("{}"),
//     pusher:subscription_error and pusher:signin_success, where Soketi
//     sends objects. subscription_succeeded of non-presence channels
//     carries "{}" (Reverb). Relayed client events keep the data the
//     sender wrote, with user_id on presence channels.
//   - Payloads across protocols: a Go Emit's JSON payload is the Pusher data
//     string; a payload that is a JSON string is sent as that string. An
//     HTTP API publish's data string reaches native clients parsed when it
//     holds a JSON object, array, number, boolean or null, else as a
//     string; Pusher clients always get the published string unchanged.
//   - Refused subscriptions: a channel-scoped pusher:subscription_error
//     {"type":"AuthError","error","status":401,"code":4009} (Soketi), which
//     laravel-echo hands to .error() callbacks; other failures use type
//     "SubscriptionError" with the Pusher code as status. No extra
//     pusher:error; the connection stays open.
//   - Codes: Pusher clients never see the native-only 44xx/45xx codes, in
//     error frames or close frames. pusher-js does not reconnect after a
//     close code of 4000–4099 or ≥ 4300, so invalid channel / not
//     subscribed / already subscribed become 4009, a refused client event
//     4301, a slow consumer 4100 (reconnect after a backoff) and the rest
//     4200 (reconnect now). Over MaxConnections is 4100 (Soketi; Pusher and
//     Reverb use 4004), as on the native protocol.
//   - Handshake: unknown app key → pusher:error 4001 then close 4001; a
//     refused Origin (same allow-list as /ws) → 4009. The protocol, client
//     and version query parameters are ignored (Reverb, Soketi).
//     activity_timeout is Config.PingInterval in seconds (default 30, as
//     Reverb and Soketi).
//   - Keep-alive: the server pings idle connections with WebSocket ping
//     control frames, which browsers and pusher-js's Node transport answer
//     by themselves, rather than pusher:ping; it answers pusher:ping with
//     pusher:pong and accepts pusher:pong. Silence past ReadTimeout closes
//     with 4201.
//   - Auth tokens: both the key and the signature of "key:signature" are
//     checked (Pusher, Soketi; Reverb ignores the key). channel_data is
//     verified byte for byte as received; user ids may be strings or
//     numbers and members are keyed by their string form.
//   - Client events: Pusher's rules — client-* names, private and presence
//     channels only (4301 otherwise), sender subscribed (4009 otherwise,
//     Reverb's message), never echoed, rate limited (Config.ClientEventRate,
//     4301). Reverb and Soketi also allow public channels.
//   - Sign-in: pusher:signin is verified with the app secret against this
//     socket id; user_data.id must be a non-empty string (pusher-js checks
//     the same). The connection then joins the internal channel
//     "#server-to-user-{id}" at once; pusher-js's own subscribe to it is
//     acknowledged, anyone else's refused. A failed or conflicting sign-in
//     is pusher:error 4009 without closing. Reverb has no sign-in.
//   - terminate_connections closes the connections signed in as the user
//     (Pusher, Soketi; Reverb uses presence user ids), on every node, with
//     pusher:error and close 4009 (Soketi), so pusher-js stays
//     disconnected.
//   - Channel names: 1–200 characters (node SDK, Soketi; Pusher's docs say
//     164). Cache channels are not implemented: their names work as plain
//     channels, without last-event replay or pusher:cache_miss.
//   - Channel queries (OccupiedChannels) list this node's channels only;
//     counts come from the broker's ClientRegistry and the presence store,
//     so they are cluster-wide when those are.
package websocket
