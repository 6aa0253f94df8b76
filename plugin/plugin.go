package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/drivers"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/broadcast/webhook"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/routes"

	"github.com/velocitykode/velocity/internal/logflood"
)

// ErrDriverUnavailable reports a BROADCAST_DRIVER this build cannot start.
var ErrDriverUnavailable = errors.New("plugin: driver unavailable")

// Plugin is Velocity Broadcast configured for one app. Build it with New.
type Plugin struct {
	cfg      Config
	b        *broadcast.Broadcaster
	server   *websocket.Server // nil for the log and null drivers
	verifier *middleware.Verifier
	userFn   func(*http.Request) (any, error)
	logger   *slog.Logger
	onSign   func()             // warns once when a generated secret first signs
	replay   routes.ReplayGuard // nil without BROADCAST_PUSHER_REPLAY_PROTECTION
	// sharedReplay is the redis and nats drivers' replay guard, kept
	// in the engine so that every process sees every signature.
	sharedReplay routes.ReplayGuard
	webhooks     *webhook.Sender // nil without BROADCAST_WEBHOOKS
	unhook       []func()        // removes the webhooks' lifecycle hooks

	mu        sync.Mutex
	listeners []*http.Server
	stopped   bool // Shutdown ran: Serve refuses to start

	metrics metricsState // metrics.go
}

// Option configures New.
type Option func(*options)

type options struct {
	broadcaster *broadcast.Broadcaster
	jwt         *middleware.Config
	userFn      func(*http.Request) (any, error)
	logger      *slog.Logger
	wsOpts      []websocket.Option
}

// WithBroadcaster makes the plugin drive b instead of broadcast.Default().
func WithBroadcaster(b *broadcast.Broadcaster) Option {
	return func(o *options) { o.broadcaster = b }
}

// WithJWT replaces the JWT settings derived from JWT_* variables.
func WithJWT(cfg middleware.Config) Option { return func(o *options) { o.jwt = &cfg } }

// WithUserResolver identifies users by fn instead of a JWT (for apps with
// their own sessions). fn returns (nil, nil) for an anonymous request.
func WithUserResolver(fn func(*http.Request) (any, error)) Option {
	return func(o *options) { o.userFn = fn }
}

// WithLogger sets the logger of the plugin and its parts.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithServerOptions passes options to the WebSocket server (a broker,
// a presence store).
func WithServerOptions(opts ...websocket.Option) Option {
	return func(o *options) { o.wsOpts = append(o.wsOpts, opts...) }
}

// New builds the driver named by cfg.Driver and the broadcaster that uses
// it. Unless WithBroadcaster is given, the broadcaster is
// broadcast.Default(), so hooks registered on it earlier are kept.
func New(cfg Config, opts ...Option) (*Plugin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{logger: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	p := &Plugin{cfg: cfg, logger: logflood.Logger(o.logger)}
	if p.cfg.App.Secret == "" {
		p.cfg.App.Secret = randomSecret()
		p.warnGeneratedSecret()
	}
	if err := p.setupAuth(o); err != nil {
		return nil, err
	}
	if p.verifier == nil && p.userFn == nil {
		p.logger.Warn("broadcast: private and presence channels need JWT_SECRET or JWT_PUBLIC_KEY (or WithUserResolver) to identify users, and neither is set")
	}
	p.b = o.broadcaster
	if p.b == nil {
		p.b = broadcast.Default()
	}
	if len(cfg.EncryptionMasterKey) > 0 {
		if err := p.b.SetEncryptionMasterKey(cfg.EncryptionMasterKey); err != nil {
			return nil, fmt.Errorf("%w: BROADCAST_ENCRYPTION_MASTER_KEY: %w", ErrInvalidConfig, err)
		}
	}
	driver, err := p.buildDriver(o)
	if err != nil {
		return nil, err
	}
	if err := p.setupMetrics(); err != nil {
		if p.server != nil {
			_ = p.server.Shutdown(context.Background())
		}
		return nil, err
	}
	p.b.SetDriver(driver)
	p.replay = p.replayGuard()
	if err := p.startWebhooks(); err != nil {
		_ = p.Shutdown(context.Background())
		return nil, err
	}
	return p, nil
}

// warnGeneratedSecret warns that BROADCAST_APP_SECRET is not set: at once
// with the Redis driver, whose processes must share the secret, else the
// first time the generated secret signs an answer.
func (p *Plugin) warnGeneratedSecret() {
	if p.cfg.Driver == DriverRedis {
		p.logger.Warn("broadcast: BROADCAST_APP_SECRET is not set; using a per-process secret, which the other processes on this Redis cannot verify (set the same secret on every process)")
		return
	}
	p.onSign = sync.OnceFunc(func() {
		p.logger.Warn("broadcast: BROADCAST_APP_SECRET is not set; signing with a per-process secret (set it when running several processes)")
	})
}

func (p *Plugin) buildDriver(o options) (broadcast.Driver, error) {
	switch p.cfg.Driver {
	case DriverLog:
		return drivers.NewLogDriver(p.logger), nil
	case DriverNull:
		return drivers.NewNullDriver(), nil
	}
	wsOpts := append([]websocket.Option{
		websocket.WithLogger(p.logger),
		websocket.WithAuthenticator(p.identify),
		websocket.WithApp(p.cfg.App),
	}, o.wsOpts...)
	if p.verifier != nil {
		wsOpts = append(wsOpts, websocket.WithTokenVerifier(p.verifyToken))
	}
	var s *websocket.Server
	var err error
	if p.cfg.Driver == DriverRedis {
		prefix := p.cfg.RedisPrefix
		if !strings.HasSuffix(prefix, ":") {
			prefix += ":"
		}
		s, err = p.redisServer(redisbroker.Options{
			URL: p.cfg.RedisURL, Prefix: prefix, CleanupBound: p.cfg.RedisCleanupBound, Logger: p.logger,
		}, wsOpts)
	} else if p.cfg.Driver == DriverNATS {
		s, err = p.natsServer(natsbroker.Options{
			URL: p.cfg.NATSURL, Prefix: p.cfg.NATSPrefix, CleanupBound: p.cfg.NATSCleanupBound, Logger: p.logger,
		}, wsOpts)
	} else {
		s, err = websocket.NewServer(p.cfg.WebSocket, wsOpts...)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	p.server = s
	return s, nil
}

// Broadcaster returns the broadcaster the plugin drives.
func (p *Plugin) Broadcaster() *broadcast.Broadcaster { return p.b }

// Server returns the WebSocket server, or nil for the log and null drivers.
func (p *Plugin) Server() *websocket.Server { return p.server }

// Config returns the plugin's configuration.
func (p *Plugin) Config() Config { return p.cfg }

// User identifies the user of a request: one already put in its context
// by the app's middleware, else the resolver or the JWT verifier. It
// returns (nil, nil) for an anonymous request and an error for a bad
// credential: middleware.ErrJWTNotConfigured for a token sent while no
// JWT key is configured.
func (p *Plugin) User(r *http.Request) (any, error) {
	id, err := p.identify(r)
	return id.User, err
}

// Register mounts the plugin's endpoints on r, an *echo.Echo or an
// *echo.Group (whose prefix and middleware then apply to all of them):
//
//   - GET {WEBSOCKET_PATH} (default /ws): native protocol WebSocket
//   - GET {BROADCAST_PUSHER_PATH}/app/:key: Pusher protocol WebSocket
//   - the Pusher HTTP API under {BROADCAST_PUSHER_PATH}/apps/:id:
//     POST /events, POST /batch_events, GET /channels,
//     GET /channels/:name, GET /channels/:name/users and
//     POST /users/:uid/terminate_connections
//   - POST /broadcasting/auth: private and presence channel authorization
//   - POST /broadcasting/user-auth: Pusher user sign-in
//   - GET and HEAD /broadcasting/client.js: the JavaScript client
//   - GET /broadcasting/health: 200 while the plugin can broadcast, else 503
//   - GET /broadcasting/health/live: 200 while the process serves
//   - GET /broadcasting/health/ready: 200 while the node may take traffic
//     (Ready), else 503 with the reason
//   - GET /metrics: Prometheus metrics, with BROADCAST_METRICS=true and no
//     BROADCAST_METRICS_ADDR
//
// The log and null drivers serve no sockets: they mount neither
// WebSocket nor the Pusher HTTP API.
func (p *Plugin) Register(r routes.Router) {
	p.routes().Mount(r)
}

func (p *Plugin) routes() routes.Routes {
	rt := routes.Routes{
		WebSocketPath:   p.cfg.WebSocket.Path,
		Broadcaster:     p.b,
		App:             p.cfg.App,
		User:            p.User,
		PusherPrefix:    p.cfg.PusherPath,
		Health:          p.Health,
		Ready:           p.Ready,
		MaxPayloadBytes: p.cfg.MaxPayloadBytes,
		OnSign:          p.onSign,
		ReplayGuard:     p.replay,
	}
	if p.cfg.Metrics && p.cfg.MetricsAddr == "" {
		rt.Metrics = p.MetricsHandler()
	}
	if p.server != nil { // the log and null drivers serve no sockets
		rt.WebSocket = p.server
		rt.Pusher = p.server.PusherHandler()
		rt.PusherAPI = p.server
	}
	return rt
}

// ListenAndServe serves the plugin's endpoints on their own listener at
// WEBSOCKET_HOST:WEBSOCKET_PORT, until Shutdown. It returns nil after
// Shutdown.
func (p *Plugin) ListenAndServe() error {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.WebSocket.Host, fmt.Sprint(p.cfg.WebSocket.Port)))
	if err != nil {
		return fmt.Errorf("plugin: listen: %w", err)
	}
	return p.Serve(ln)
}

// Serve serves the plugin's endpoints on ln until Shutdown.
func (p *Plugin) Serve(ln net.Listener) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	p.Register(e)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	p.listeners = append(p.listeners, srv)
	p.mu.Unlock()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Health reports whether the plugin can broadcast: nil on one process, and
// with the Redis driver whether Redis answers.
func (p *Plugin) Health(ctx context.Context) error {
	if p.server == nil {
		return nil
	}
	return p.server.Health(ctx)
}

// Shutdown closes every connection with code 4200 (after flushing what is
// queued), stops standalone listeners and every goroutine of the plugin,
// waiting until ctx is done at most. It is idempotent.
func (p *Plugin) Shutdown(ctx context.Context) error {
	p.metrics.draining.Store(true)
	var errs []error
	if p.server != nil {
		errs = append(errs, p.server.Shutdown(ctx))
	}
	p.mu.Lock()
	ls := p.listeners
	p.listeners, p.stopped = nil, true
	p.mu.Unlock()
	for _, s := range ls {
		errs = append(errs, s.Shutdown(ctx))
	}
	errs = append(errs, p.stopWebhooks(ctx))
	return errors.Join(errs...)
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
