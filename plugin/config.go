package plugin

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/broadcast/webhook"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// Drivers accepted in BROADCAST_DRIVER.
const (
	DriverWebSocket = "websocket"
	DriverRedis     = "redis"
	DriverNATS      = "nats"
	DriverLog       = "log"
	DriverNull      = "null"
)

// Config is everything the plugin reads from the environment. LoadConfig
// fills it from .env files and real environment variables; a zero field
// takes the default documented on it.
type Config struct {
	// Driver is BROADCAST_DRIVER: websocket (default), redis, nats, log or
	// null.
	Driver string
	// WebSocket holds the WEBSOCKET_* variables.
	WebSocket websocket.Config
	// RedisURL is REDIS_URL (redis driver; default redis://127.0.0.1:6379/0).
	RedisURL string
	// RedisPrefix is BROADCAST_REDIS_PREFIX, the key and channel prefix
	// that lets several apps share one Redis (default "velocity").
	RedisPrefix string

	// RedisCleanupBound is BROADCAST_REDIS_CLEANUP_BOUND: the longest a
	// crashed node's presence members survive it (default 30s).
	RedisCleanupBound time.Duration

	// NATSURL is NATS_URL (nats driver; default nats://127.0.0.1:4222).
	// The server must run with JetStream.
	NATSURL string
	// NATSPrefix is BROADCAST_NATS_PREFIX, the subject and bucket prefix
	// that lets several apps share one NATS (default "velocity").
	NATSPrefix string
	// NATSCleanupBound is BROADCAST_NATS_CLEANUP_BOUND: the longest a
	// crashed node's subscribers and presence members survive it (default
	// 30s).
	NATSCleanupBound time.Duration

	// JWTSecret is JWT_SECRET, the HMAC key of HS256 tokens.
	JWTSecret string
	// JWTPublicKey is JWT_PUBLIC_KEY: a PEM public key (RS256/ES256/EdDSA),
	// inline or as a path to a file.
	JWTPublicKey string
	// JWTAlgorithms is JWT_ALGORITHMS, the accepted signing methods
	// (default HS256 with a secret, RS256 with a public key).
	JWTAlgorithms []string
	// JWTIssuer and JWTAudience (JWT_ISSUER, JWT_AUDIENCE) are checked when set.
	JWTIssuer, JWTAudience string
	// JWTAllowNoExpiry is JWT_ALLOW_NO_EXP: accept tokens without an "exp"
	// claim, which never expire (default false: refused with 401
	// token_no_expiry, or close code 4009 on a WebSocket).
	JWTAllowNoExpiry bool

	// App is the Pusher-style app of BROADCAST_APP_ID, BROADCAST_APP_KEY
	// and BROADCAST_APP_SECRET, whose secret signs /broadcasting/auth
	// answers. Without a secret one is generated per process, which only
	// works for a single process.
	App signature.App
	// PusherPath is BROADCAST_PUSHER_PATH, an optional path prefix of the
	// Pusher endpoints: {prefix}/app/:key and {prefix}/apps/:id/… (default
	// "", as pusher-js's wsPath).
	PusherPath string
	// MaxPayloadBytes is BROADCAST_MAX_PAYLOAD_BYTES, the largest event
	// data the Pusher HTTP API accepts (default 10240, as Pusher).
	MaxPayloadBytes int
	// PusherReplayProtection is BROADCAST_PUSHER_REPLAY_PROTECTION: accept
	// each signed POST of the Pusher HTTP API once, answering the same
	// signed request again with 409 (default false, as Pusher). The
	// signatures seen are kept in Redis with the redis driver, else in
	// this process.
	PusherReplayProtection bool
	// PusherReplayCacheSize is BROADCAST_PUSHER_REPLAY_CACHE_SIZE, the
	// signatures one process remembers without Redis (default 65536).
	PusherReplayCacheSize int
	// EncryptionMasterKey is BROADCAST_ENCRYPTION_MASTER_KEY, given as the
	// standard base64 of 32 bytes: the master key of end-to-end encrypted
	// channels (private-encrypted-…). Without it those channels are
	// refused. It must be the same on every process and on any other
	// server SDK publishing to the app.
	EncryptionMasterKey []byte
	// Webhooks is BROADCAST_WEBHOOKS: the receivers of Pusher-compatible
	// webhooks, as "URL[|event+event…],…" (webhook.ParseSpec); none by
	// default.
	Webhooks []webhook.Endpoint
	// Metrics is BROADCAST_METRICS: serve Prometheus metrics at GET
	// /metrics (default false).
	Metrics bool
	// MetricsAddr is BROADCAST_METRICS_ADDR, host:port of a listener of
	// their own for the metrics (a port kept off the public network);
	// empty (the default) mounts /metrics with the plugin's other
	// endpoints. It needs BROADCAST_METRICS=true.
	MetricsAddr string
}

// minCleanupBound is the least BROADCAST_REDIS_CLEANUP_BOUND and
// BROADCAST_NATS_CLEANUP_BOUND.
const minCleanupBound = 3 * time.Second

// ErrInvalidConfig is wrapped by every error of LoadConfig and Validate.
var ErrInvalidConfig = errors.New("plugin: invalid configuration")

// LoadConfig reads the .env files named (".env" when none is named; a
// missing file is fine), lets real environment variables override them,
// and validates every value. An error names the variable at fault.
func LoadConfig(files ...string) (Config, error) {
	if len(files) == 0 {
		files = []string{".env"}
	}
	vars := map[string]string{}
	for _, f := range files {
		m, err := godotenv.Read(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, fmt.Errorf("%w: read %s: %v", ErrInvalidConfig, f, err)
		}
		for k, v := range m {
			vars[k] = v
		}
	}
	return FromLookup(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	})
}

// FromLookup builds a Config from a variable lookup (os.LookupEnv, a map
// in tests) and validates it.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		Driver:            r.str("BROADCAST_DRIVER", DriverWebSocket),
		RedisURL:          r.str("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:       r.str("BROADCAST_REDIS_PREFIX", "velocity"),
		RedisCleanupBound: r.duration("BROADCAST_REDIS_CLEANUP_BOUND", 30*time.Second),
		NATSURL:           r.str("NATS_URL", "nats://127.0.0.1:4222"),
		NATSPrefix:        r.str("BROADCAST_NATS_PREFIX", "velocity"),
		NATSCleanupBound:  r.duration("BROADCAST_NATS_CLEANUP_BOUND", 30*time.Second),
		JWTSecret:         r.str("JWT_SECRET", ""),
		JWTPublicKey:      r.str("JWT_PUBLIC_KEY", ""),
		JWTAlgorithms:     r.list("JWT_ALGORITHMS"),
		JWTIssuer:         r.str("JWT_ISSUER", ""),
		JWTAudience:       r.str("JWT_AUDIENCE", ""),
		JWTAllowNoExpiry:  r.boolean("JWT_ALLOW_NO_EXP", false),
		App: signature.App{
			ID:     r.str("BROADCAST_APP_ID", "velocity"),
			Key:    r.str("BROADCAST_APP_KEY", "velocity-key"),
			Secret: r.str("BROADCAST_APP_SECRET", ""),
		},
		PusherPath:             r.str("BROADCAST_PUSHER_PATH", ""),
		MaxPayloadBytes:        r.integer("BROADCAST_MAX_PAYLOAD_BYTES", 10*1024),
		PusherReplayProtection: r.boolean("BROADCAST_PUSHER_REPLAY_PROTECTION", false),
		PusherReplayCacheSize:  r.integer("BROADCAST_PUSHER_REPLAY_CACHE_SIZE", signature.DefaultReplayCacheSize),
		EncryptionMasterKey:    r.base64("BROADCAST_ENCRYPTION_MASTER_KEY"),
		Webhooks:               r.webhooks("BROADCAST_WEBHOOKS"),
		Metrics:                r.boolean("BROADCAST_METRICS", false),
		MetricsAddr:            r.str("BROADCAST_METRICS_ADDR", ""),
		WebSocket: websocket.Config{
			Host:                  r.str("WEBSOCKET_HOST", websocket.DefaultHost),
			Port:                  r.integer("WEBSOCKET_PORT", websocket.DefaultPort),
			Path:                  r.str("WEBSOCKET_PATH", websocket.DefaultPath),
			AllowedOrigins:        r.list("WEBSOCKET_ALLOWED_ORIGINS"),
			PingInterval:          r.duration("WEBSOCKET_PING_INTERVAL", websocket.DefaultPingInterval),
			ReadTimeout:           r.duration("WEBSOCKET_READ_TIMEOUT", websocket.DefaultReadTimeout),
			WriteTimeout:          r.duration("WEBSOCKET_WRITE_TIMEOUT", websocket.DefaultWriteTimeout),
			MaxMessageSize:        int64(r.integer("WEBSOCKET_MAX_MESSAGE_SIZE", websocket.DefaultMaxMessageSize)),
			MaxQueueBytes:         r.integer("WEBSOCKET_MAX_QUEUE_BYTES", websocket.DefaultMaxQueueBytes),
			MaxQueueBurstBytes:    r.integer("WEBSOCKET_MAX_QUEUE_BURST_BYTES", 0),
			SendBuffer:            r.integer("WEBSOCKET_SEND_BUFFER", websocket.DefaultSendBuffer),
			WriteDelay:            r.duration("WEBSOCKET_WRITE_DELAY", 0),
			WriteCoalesce:         r.duration("WEBSOCKET_WRITE_COALESCE", websocket.DefaultWriteCoalesce),
			MaxConnections:        r.integer("WEBSOCKET_MAX_CONNECTIONS", 0),
			MaxConnectionsPerUser: r.integer("WEBSOCKET_MAX_CONNECTIONS_PER_USER", websocket.DefaultMaxConnectionsPerUser),
			ClientEventRate:       r.integer("BROADCAST_CLIENT_EVENT_RATE", websocket.DefaultClientEventRate),
			MaxInboundRate:        r.integer("WEBSOCKET_MAX_INBOUND_RATE", websocket.DefaultMaxInboundRate),
			MaxSubscriptions:      r.integer("WEBSOCKET_MAX_SUBSCRIPTIONS", websocket.DefaultMaxSubscriptions),
			MaxUserInfoBytes:      r.integer("BROADCAST_MAX_USER_INFO_BYTES", websocket.DefaultMaxUserInfoBytes),
			MaxPresenceMembers:    r.integer("BROADCAST_MAX_PRESENCE_MEMBERS", websocket.DefaultMaxPresenceMembers),
			PresenceGracePeriod:   offWhenZero(r.duration("BROADCAST_PRESENCE_GRACE", websocket.DefaultPresenceGracePeriod)),
			DisableClientEvents:   !r.boolean("BROADCAST_CLIENT_EVENTS", true),
			History:               r.history("BROADCAST_HISTORY"),
			SubscriptionCount:     r.boolean("BROADCAST_SUBSCRIPTION_COUNT", false),
		},
	}
	if r.err != nil {
		return Config{}, r.err
	}
	return c, c.Validate()
}

// Validate checks every value, naming the variable of the first bad one.
func (c Config) Validate() error {
	switch c.Driver {
	case DriverWebSocket, DriverRedis, DriverNATS, DriverLog, DriverNull:
	default:
		return fmt.Errorf("%w: BROADCAST_DRIVER=%q: want websocket, redis, nats, log or null", ErrInvalidConfig, c.Driver)
	}
	ws := c.WebSocket
	checks := []struct {
		bad  bool
		name string
		val  any
		want string
	}{
		{ws.Port < 1 || ws.Port > 65535, "WEBSOCKET_PORT", ws.Port, "1-65535"},
		{c.RedisCleanupBound < minCleanupBound, "BROADCAST_REDIS_CLEANUP_BOUND", c.RedisCleanupBound, "a duration of at least 3s"},
		{c.NATSCleanupBound < minCleanupBound, "BROADCAST_NATS_CLEANUP_BOUND", c.NATSCleanupBound, "a duration of at least 3s"},
		{!strings.HasPrefix(ws.Path, "/"), "WEBSOCKET_PATH", ws.Path, "a path starting with /"},
		{ws.PingInterval <= 0, "WEBSOCKET_PING_INTERVAL", ws.PingInterval, "a positive duration"},
		{ws.ReadTimeout <= ws.PingInterval, "WEBSOCKET_READ_TIMEOUT", ws.ReadTimeout, "a duration above WEBSOCKET_PING_INTERVAL"},
		{ws.WriteTimeout <= 0, "WEBSOCKET_WRITE_TIMEOUT", ws.WriteTimeout, "a positive duration"},
		{ws.MaxMessageSize < 64, "WEBSOCKET_MAX_MESSAGE_SIZE", ws.MaxMessageSize, "at least 64 bytes"},
		{ws.MaxQueueBytes < 1024, "WEBSOCKET_MAX_QUEUE_BYTES", ws.MaxQueueBytes, "at least 1024 bytes"},
		{ws.MaxQueueBurstBytes != 0 && ws.MaxQueueBurstBytes < ws.MaxQueueBytes, "WEBSOCKET_MAX_QUEUE_BURST_BYTES", ws.MaxQueueBurstBytes, "0 (32 × WEBSOCKET_MAX_QUEUE_BYTES) or at least WEBSOCKET_MAX_QUEUE_BYTES"},
		{ws.SendBuffer < -1 || (ws.SendBuffer >= 0 && ws.SendBuffer < 4096), "WEBSOCKET_SEND_BUFFER", ws.SendBuffer, "-1 (OS autotuning) or at least 4096 bytes"},
		{ws.WriteDelay < 0 || ws.WriteDelay > time.Second, "WEBSOCKET_WRITE_DELAY", ws.WriteDelay, "a duration from 0 to 1s"},
		{ws.WriteCoalesce > time.Second, "WEBSOCKET_WRITE_COALESCE", ws.WriteCoalesce, "a duration up to 1s (negative: off)"},
		{ws.MaxConnections < 0, "WEBSOCKET_MAX_CONNECTIONS", ws.MaxConnections, "0 (no cap) or more"},
		{ws.MaxConnectionsPerUser == 0, "WEBSOCKET_MAX_CONNECTIONS_PER_USER", ws.MaxConnectionsPerUser, "1 or more connections per user, or -1 for no cap"},
		{ws.ClientEventRate == 0, "BROADCAST_CLIENT_EVENT_RATE", ws.ClientEventRate, "events per second, or -1 for no limit"},
		{ws.MaxInboundRate == 0, "WEBSOCKET_MAX_INBOUND_RATE", ws.MaxInboundRate, "frames per second, or -1 for no limit"},
		{ws.MaxSubscriptions <= 0, "WEBSOCKET_MAX_SUBSCRIPTIONS", ws.MaxSubscriptions, "1 or more channels per connection"},
		{ws.MaxUserInfoBytes <= 0, "BROADCAST_MAX_USER_INFO_BYTES", ws.MaxUserInfoBytes, "1 or more bytes"},
		{ws.MaxPresenceMembers == 0, "BROADCAST_MAX_PRESENCE_MEMBERS", ws.MaxPresenceMembers, "1 or more members, or -1 for no cap"},
		{ws.PresenceGracePeriod > websocket.MaxPresenceGracePeriod, "BROADCAST_PRESENCE_GRACE", ws.PresenceGracePeriod, "a duration up to 10m (0: off)"},
		{c.App.ID == "" || c.App.Key == "", "BROADCAST_APP_KEY", c.App.Key, "a non-empty app id and key"},
		{c.PusherPath != "" && (!strings.HasPrefix(c.PusherPath, "/") || strings.HasSuffix(c.PusherPath, "/")), "BROADCAST_PUSHER_PATH", c.PusherPath, "empty or a path like /realtime"},
		{c.MaxPayloadBytes < 0, "BROADCAST_MAX_PAYLOAD_BYTES", c.MaxPayloadBytes, "a byte count (0: 10240)"},
		{c.PusherReplayCacheSize < 0, "BROADCAST_PUSHER_REPLAY_CACHE_SIZE", c.PusherReplayCacheSize, "a number of entries (0: 65536)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s=%v: want %s", ErrInvalidConfig, ch.name, ch.val, ch.want)
		}
	}
	if n := len(c.EncryptionMasterKey); n != 0 && n != broadcast.MasterKeySize {
		return fmt.Errorf("%w: BROADCAST_ENCRYPTION_MASTER_KEY: decodes to %d bytes, want the base64 of %d bytes (for example: openssl rand -base64 32)", ErrInvalidConfig, n, broadcast.MasterKeySize)
	}
	if err := c.validateMetrics(); err != nil {
		return err
	}
	for _, o := range ws.AllowedOrigins {
		if o != "*" && !strings.Contains(o, "://") {
			return fmt.Errorf("%w: WEBSOCKET_ALLOWED_ORIGINS: %q is not scheme://host[:port] or *", ErrInvalidConfig, o)
		}
	}
	return nil
}

// reader parses variables, keeping the first error.
type reader struct {
	lookup func(string) (string, bool)
	err    error
}

func (r *reader) raw(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) fail(name, v, want string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s=%q: want %s: %v", ErrInvalidConfig, name, v, want, err)
	}
}

func (r *reader) str(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

func (r *reader) list(name string) []string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) integer(name string, def int) int {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, v, "an integer", err)
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// A bare number is seconds, as in many .env files.
		if n, nerr := strconv.Atoi(v); nerr == nil {
			return time.Duration(n) * time.Second
		}
		r.fail(name, v, "a duration such as 30s", err)
	}
	return d
}

// base64 reads standard base64 (padded or not); the value itself never
// appears in an error.
func (r *reader) base64(name string) []byte {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(v)
	}
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %s: want the standard base64 of %d bytes: %v", ErrInvalidConfig, name, broadcast.MasterKeySize, err)
	}
	return b
}

// history reads history rules: pattern=size/ttl, comma-separated.
func (r *reader) history(name string) []broadcast.HistoryRule {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	rules, err := broadcast.ParseHistoryRules(v)
	if err != nil {
		r.fail(name, v, "pattern=size/ttl[,…] such as orders=100/10m,chat.*=50/24h", err)
	}
	return rules
}

func (r *reader) webhooks(name string) []webhook.Endpoint {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	eps, err := webhook.ParseSpec(v)
	if err != nil && r.err == nil {
		// The spec's error names the URL with its password hidden; v
		// itself may hold one, so it is not repeated.
		r.err = fmt.Errorf("%w: %s: want URL[|event+event…][,…] with http or https URLs: %v", ErrInvalidConfig, name, err)
	}
	return eps
}

// offWhenZero maps an explicit 0 of a duration whose zero value in
// websocket.Config means its default to a negative one, which means off.
func offWhenZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, v, "true or false", err)
	}
	return b
}
