package websocket

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

// Config configures the WebSocket server; a zero value in any field means
// its documented default.
type Config struct {
	// Host is the interface a standalone listener binds (default "0.0.0.0").
	// Unused when the server is mounted on an existing Echo app.
	Host string
	// Port is the standalone listener's port (default 6001).
	Port int
	// Path is the URL path of the native protocol (default "/ws").
	Path string
	// AllowedOrigins lists the browser origins ("scheme://host[:port]")
	// allowed to connect. Empty means same origin only; "*" allows any.
	// Requests without an Origin header (non-browser clients) are allowed.
	AllowedOrigins []string
	// PingInterval is how often the server pings an idle client; it is
	// also the activity_timeout announced to clients (default 30s).
	PingInterval time.Duration
	// ReadTimeout closes a connection from which nothing, not even a pong,
	// arrived for this long (default 60s; close code 4201).
	ReadTimeout time.Duration
	// WriteTimeout bounds every write to a socket (default 10s).
	WriteTimeout time.Duration
	// MaxMessageSize is the largest client frame accepted, in bytes
	// (default 512 KiB); a larger one closes the connection with 1009.
	MaxMessageSize int64

	// MaxQueueBytes is the soft bound of the bytes queued for one client
	// (default 1 MiB). Past it, an event with a conflation key replaces
	// the queued event with the same key, and answers to the client's own
	// requests are refused room: a client that does not read them is
	// closed with code 4408.
	MaxQueueBytes int
	// MaxQueueBurstBytes is the hard cap of the bytes queued for one
	// client (default 32 × MaxQueueBytes). A client whose socket keeps
	// draining rides out a burst up to it; past it, or when its socket
	// takes nothing for WriteTimeout, it is closed with code 4408.
	MaxQueueBurstBytes int
	// SendBuffer caps the kernel's send buffer of each socket, in bytes
	// (default 256 KiB; -1 leaves the OS's autotuning, which grows it to
	// several MiB). It bounds the memory a stalled client holds in the
	// kernel and lets the queue bounds detect it.
	SendBuffer int
	// WriteDelay holds a connection's frames this long before writing
	// them (default 0: write as soon as possible), so that frames sent
	// close together leave in one system call. It trades up to that much
	// latency for less CPU per delivery at high message rates.
	WriteDelay time.Duration
	// WriteCoalesce holds the frames of a busy connection (one written to
	// less than four times this long ago) up to this long, so that
	// frames of a busy channel share one write (default 5ms; negative:
	// off). A connection that gets frames less often is written at once.
	WriteCoalesce time.Duration
	// MaxInboundRate is how many frames per second the server reads from
	// one connection, with a burst of twice that (default 200; negative:
	// no limit). A client over it is read more slowly, not closed: its
	// frames wait in its own socket buffers.
	MaxInboundRate int
	// MaxConnections caps concurrent connections (default 0: no cap); a
	// connection over the cap is closed with code 4100.
	MaxConnections int
	// MaxConnectionsPerUser caps the connections of one user on this
	// process, not on the cluster (default 100: many tabs and devices;
	// negative: no cap). A connection counts toward the user it connected
	// as (the authenticator's Identity), signed in as (pusher:signin),
	// refreshed its token to or, failing those, first joined a presence
	// channel as; anonymous connections count toward MaxConnections
	// only. Over the cap the connection is closed with 4101, and a
	// sign-in, refresh or presence subscription is refused with 4101
	// (the connection stays open).
	MaxConnectionsPerUser int
	// ClientEventRate is the number of client events (whispers) a
	// connection may send per second (default 10; negative: unlimited).
	ClientEventRate int
	// DisableClientEvents refuses every client event.
	DisableClientEvents bool
	// MaxClientEventSize bounds a client event's data in bytes (default 10 KiB).
	MaxClientEventSize int
	// MaxSubscriptions bounds the channels one connection may be
	// subscribed to (default 200); a subscription over it is refused
	// with 4409 and the connection stays open.
	MaxSubscriptions int
	// MaxUserInfoBytes bounds a presence member's user_info, from the
	// presence-data hook or signed channel_data (default 1 KiB); a larger
	// one refuses the subscription with 4410.
	MaxUserInfoBytes int
	// MaxPresenceMembers caps the members (distinct users) of a presence
	// channel, on the whole cluster with a shared presence store (default
	// 100, as Pusher; negative: no cap). A new user's subscription over it
	// is refused with 4411 and the connection stays open; a user who is a
	// member may always join with another connection.
	MaxPresenceMembers int
	// History opts channels in to history (BROADCAST_HISTORY; see
	// broadcast.HistoryRule): their publications get stream positions
	// and are retained, and subscribers recover what they missed.
	History []broadcast.HistoryRule
	// SubscriptionCount sends the subscribers of every non-presence
	// channel its cluster-wide subscription count as it changes, at most
	// once per SubscriptionCountInterval (BROADCAST_SUBSCRIPTION_COUNT):
	// pusher_internal:subscription_count on the Pusher protocol (pusher-js's
	// channel.subscriptionCount), subscription_count on the native one.
	SubscriptionCount bool
	// SubscriptionCountInterval is the least time between two counts of a
	// channel (default 1s; at least 10ms).
	SubscriptionCountInterval time.Duration
	// PresenceGracePeriod holds the departure of a presence member this
	// long after its user's last connection left the channel (default
	// DefaultPresenceGracePeriod, 3s; negative: off, the member_removed
	// goes out at once; at most MaxPresenceGracePeriod). When the user
	// joins the channel again within it, from any node with a shared
	// presence store, nobody sees a member_removed or a new member_added:
	// a page reload or a short network blip makes no flicker. After it,
	// exactly one member_removed goes out, also when the node that held
	// the connection died. Until then the user is a member: it is in the
	// member list of every joiner and in Members, and counts toward
	// MaxPresenceMembers. It needs a presence store that is a
	// broker.GracefulPresence (the memory and Redis ones are); with
	// another store departures are never held.
	PresenceGracePeriod time.Duration
}

// Defaults of Config.
const (
	DefaultHost           = "0.0.0.0"
	DefaultPort           = 6001
	DefaultPath           = "/ws"
	DefaultPingInterval   = 30 * time.Second
	DefaultReadTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxMessageSize = 512 * 1024
	DefaultMaxQueueBytes  = 1 << 20
	// DefaultQueueBurstFactor sets MaxQueueBurstBytes when unset:
	// this many times MaxQueueBytes.
	DefaultQueueBurstFactor   = 32
	DefaultSendBuffer         = 256 << 10
	DefaultWriteCoalesce      = 5 * time.Millisecond
	DefaultClientEventRate    = 10
	DefaultMaxInboundRate     = 200
	DefaultMaxClientEventSize = 10 * 1024
	DefaultMaxSubscriptions   = 200
	DefaultMaxUserInfoBytes   = 1024
	DefaultMaxPresenceMembers = 100
	// DefaultMaxConnectionsPerUser is MaxConnectionsPerUser's default:
	// far above the tabs and devices of a real user, far below what
	// would fill a presence channel's shared state.
	DefaultMaxConnectionsPerUser = 100
	// DefaultPresenceGracePeriod covers a page reload (a new page, its
	// auth request and its subscribe: one to two seconds on a slow page),
	// and a client's reconnect after a dropped socket or a resync
	// (ResyncWindow), while a user who really left is gone from the
	// others' lists within seconds.
	DefaultPresenceGracePeriod = 3 * time.Second
	// MaxPresenceGracePeriod bounds PresenceGracePeriod.
	MaxPresenceGracePeriod = 10 * time.Minute
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("websocket: invalid config")

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxQueueBytes == 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.MaxQueueBurstBytes == 0 {
		c.MaxQueueBurstBytes = DefaultQueueBurstFactor * c.MaxQueueBytes
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = DefaultSendBuffer
	}
	if c.WriteCoalesce == 0 {
		c.WriteCoalesce = DefaultWriteCoalesce
	}
	if c.MaxInboundRate == 0 {
		c.MaxInboundRate = DefaultMaxInboundRate
	}
	if c.ClientEventRate == 0 {
		c.ClientEventRate = DefaultClientEventRate
	}
	if c.MaxClientEventSize == 0 {
		c.MaxClientEventSize = DefaultMaxClientEventSize
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxUserInfoBytes == 0 {
		c.MaxUserInfoBytes = DefaultMaxUserInfoBytes
	}
	if c.SubscriptionCountInterval == 0 {
		c.SubscriptionCountInterval = DefaultSubscriptionCountInterval
	}
	if c.MaxConnectionsPerUser == 0 {
		c.MaxConnectionsPerUser = DefaultMaxConnectionsPerUser
	}
	if c.MaxPresenceMembers == 0 {
		c.MaxPresenceMembers = DefaultMaxPresenceMembers
	}
	if c.PresenceGracePeriod == 0 {
		c.PresenceGracePeriod = DefaultPresenceGracePeriod
	}
	return c
}

// Validate reports the first invalid field of c (after defaults).
func (c Config) Validate() error {
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("%w: Port %d out of range", ErrConfig, c.Port)
	case !strings.HasPrefix(c.Path, "/"):
		return fmt.Errorf("%w: Path %q must start with /", ErrConfig, c.Path)
	case c.PingInterval < 0, c.ReadTimeout < 0, c.WriteTimeout < 0, c.WriteDelay < 0:
		return fmt.Errorf("%w: durations must be positive", ErrConfig)
	case c.ReadTimeout <= c.PingInterval:
		return fmt.Errorf("%w: ReadTimeout (%s) must exceed PingInterval (%s)", ErrConfig, c.ReadTimeout, c.PingInterval)
	case c.MaxMessageSize < 64:
		return fmt.Errorf("%w: MaxMessageSize %d below 64 bytes", ErrConfig, c.MaxMessageSize)
	case c.MaxQueueBytes < 1024:
		return fmt.Errorf("%w: MaxQueueBytes %d below 1 KiB", ErrConfig, c.MaxQueueBytes)
	case c.MaxQueueBurstBytes < c.MaxQueueBytes:
		return fmt.Errorf("%w: MaxQueueBurstBytes %d below MaxQueueBytes %d", ErrConfig, c.MaxQueueBurstBytes, c.MaxQueueBytes)
	case c.SendBuffer < -1 || (c.SendBuffer > 0 && c.SendBuffer < 4096):
		return fmt.Errorf("%w: SendBuffer %d: want -1 or at least 4096", ErrConfig, c.SendBuffer)
	case c.WriteDelay > time.Second:
		return fmt.Errorf("%w: WriteDelay %s above 1s", ErrConfig, c.WriteDelay)
	case c.WriteCoalesce > time.Second:
		return fmt.Errorf("%w: WriteCoalesce %s above 1s", ErrConfig, c.WriteCoalesce)
	case c.MaxConnections < 0:
		return fmt.Errorf("%w: MaxConnections %d is negative", ErrConfig, c.MaxConnections)
	case c.MaxClientEventSize < 0:
		return fmt.Errorf("%w: MaxClientEventSize %d is negative", ErrConfig, c.MaxClientEventSize)
	case c.MaxSubscriptions < 0:
		return fmt.Errorf("%w: MaxSubscriptions %d is negative", ErrConfig, c.MaxSubscriptions)
	case c.SubscriptionCountInterval < 10*time.Millisecond:
		return fmt.Errorf("%w: SubscriptionCountInterval %s below 10ms", ErrConfig, c.SubscriptionCountInterval)
	case c.MaxUserInfoBytes < 0:
		return fmt.Errorf("%w: MaxUserInfoBytes %d is negative", ErrConfig, c.MaxUserInfoBytes)
	case c.PresenceGracePeriod > MaxPresenceGracePeriod:
		return fmt.Errorf("%w: PresenceGracePeriod %s above %s", ErrConfig, c.PresenceGracePeriod, MaxPresenceGracePeriod)
	}
	for _, o := range c.AllowedOrigins {
		if o != "*" && !strings.Contains(o, "://") {
			return fmt.Errorf("%w: allowed origin %q must be scheme://host[:port] or *", ErrConfig, o)
		}
	}
	return nil
}
