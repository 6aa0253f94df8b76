package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/hub"
	"github.com/velocitykode/velocity/internal/transport"

	"github.com/velocitykode/velocity/internal/logflood"
)

// Server serves WebSocket connections and implements broadcast.Driver: it
// owns the local hub, the connections and a broker that carries messages
// between nodes. Build one with NewServer.
type Server struct {
	cfg         Config
	hub         *hub.Hub
	protocols   []*wireProtocol
	native      *wireProtocol
	pusher      *wireProtocol
	pool        *transport.Pool
	broker      broker.Broker
	presence    broker.PresenceStore
	registry    broker.ClientRegistry // broker as a ClientRegistry, or nil
	historian   broker.Historian      // broker as a Historian, or nil
	logger      *slog.Logger
	authn       func(r *http.Request) (Identity, error)
	app         signature.App
	verifyToken func(token string) (Identity, error)
	auth        atomic.Pointer[authBox]
	lifecycle   atomic.Pointer[sinkBox]
	watched     bool // the broker is a broker.Watcher
	clock       Clock

	upgrader  websocket.Upgrader
	origins   map[string]bool
	anyOrigin bool

	seed      maphash.Seed
	stripes   stripes      // per-channel state: broker subscriptions, presence order
	history   historyState // which channels keep a history
	subCounts subCounts    // subscription counts to send
	users     userConns    // connections per user (usercap.go)

	grace graceTimers // held presence departures (grace.go)

	// ctx ends when Shutdown gives up waiting (or is done): every remote
	// step still running is cut short.
	ctx  context.Context
	stop context.CancelFunc
	bg   tracker // connection workers and channel executors

	mu        sync.Mutex
	conns     map[*client]struct{}
	sockets   socketIndex // socket id → local connection
	draining  bool
	stopping  atomic.Bool // draining, readable without mu
	listeners []*http.Server
	wg        sync.WaitGroup
	closed    chan struct{}
	stopOnce  sync.Once

	stats struct {
		accepted, rejected atomic.Uint64
		clientEvents       atomic.Uint64
		gapsFilled, filled atomic.Uint64
		gapsUnfilled       atomic.Uint64
		recovered          atomic.Uint64
		notRecovered       atomic.Uint64
		cacheMisses        atomic.Uint64
	}
	metrics serverMetrics // metrics.go
}

type authBox struct{ a broadcast.Authorizer }

// Option configures a Server.
type Option func(*Server)

// WithBroker sets the broker (default: broker.NewMemory(), one process).
func WithBroker(b broker.Broker) Option { return func(s *Server) { s.broker = b } }

// WithPresenceStore sets the presence store (default: in memory).
func WithPresenceStore(p broker.PresenceStore) Option { return func(s *Server) { s.presence = p } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithAuthorizer sets what decides private and presence subscriptions
// (default: the first broadcaster built over the server; without one,
// every private and presence subscription is refused).
func WithAuthorizer(a broadcast.Authorizer) Option {
	return func(s *Server) {
		if a != nil {
			s.auth.Store(&authBox{a})
		}
	}
}

// Clock is the time source that token expiry is measured and scheduled
// with.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call of a Clock: Stop prevents the call and
// reports whether it did. (*time.Timer is one.)
type Timer = interface{ Stop() bool }

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time                            { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// WithClock sets the clock of token expiry and of presence grace
// periods (default: the system's); for tests that need a token to expire,
// or a grace period to end, without waiting for it.
func WithClock(c Clock) Option {
	return func(s *Server) {
		if c != nil {
			s.clock = c
		}
	}
}

// WithAuthenticator sets the function that identifies the user of a
// handshake request. It returns a zero Identity for an anonymous
// connection and an error for a bad credential, which closes the
// connection with 4009.
func WithAuthenticator(fn func(r *http.Request) (Identity, error)) Option {
	return func(s *Server) { s.authn = fn }
}

// NewServer returns a ready server for cfg (zero fields take their
// defaults).
func NewServer(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		logger:  slog.Default(),
		clock:   systemClock{},
		seed:    maphash.MakeSeed(),
		conns:   make(map[*client]struct{}),
		closed:  make(chan struct{}),
		origins: make(map[string]bool),
	}
	for _, o := range opts {
		o(s)
	}
	s.logger = logflood.Logger(s.logger)
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.registerProtocols()
	s.pool = transport.NewPool(transport.Config{
		MaxQueueBytes:      cfg.MaxQueueBytes,
		MaxQueueBurstBytes: cfg.MaxQueueBurstBytes,
		MaxMessageSize:     cfg.MaxMessageSize,
		WriteTimeout:       cfg.WriteTimeout,
		ReadTimeout:        cfg.ReadTimeout,
		PingInterval:       cfg.PingInterval,
		SendBuffer:         cfg.SendBuffer,
		WriteDelay:         cfg.WriteDelay,
		WriteCoalesce:      cfg.WriteCoalesce,
		InboundRate:        cfg.MaxInboundRate,
	})
	if s.broker == nil {
		s.broker = broker.NewMemory()
	}
	s.registry, _ = s.broker.(broker.ClientRegistry)
	s.historian, _ = s.broker.(broker.Historian)
	if s.presence == nil {
		s.presence = broker.NewMemoryPresence()
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			s.anyOrigin = true
		}
		s.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// The origin is checked after the upgrade so that a refused
		// browser learns why (error frame and close code 4009).
		CheckOrigin: func(*http.Request) bool { return true },
		// Writes never go through gorilla's writer; a pool keeps it from
		// holding a buffer per connection.
		WriteBufferPool: &sync.Pool{},
		ReadBufferSize:  readBufferSize,
	}
	if err := s.AddHistory(cfg.History...); err != nil {
		s.stop()
		return nil, err
	}
	if w, ok := s.broker.(broker.Watcher); ok {
		s.watched = true
		w.Watch(s.watch)
	}
	if err := s.broker.Start(s.deliver); err != nil {
		s.stop()
		return nil, fmt.Errorf("websocket: start broker: %w", err)
	}
	return s, nil
}

// BindAuthorizer implements broadcast.AuthorizerBinder: subscriptions
// consult a's hooks, unless the server already has an authorizer (given
// with WithAuthorizer or bound before); then it reports false.
func (s *Server) BindAuthorizer(a broadcast.Authorizer) bool {
	if !s.auth.CompareAndSwap(nil, &authBox{a}) {
		return false
	}
	s.bindLifecycle(a)
	return true
}

// authorizer returns what decides subscriptions, or nil.
func (s *Server) authorizer() broadcast.Authorizer {
	if box := s.auth.Load(); box != nil {
		return box.a
	}
	return nil
}

// Config returns the server's effective configuration.
func (s *Server) Config() Config { return s.cfg }

// deliver is the broker's entry into this node.
func (s *Server) deliver(m *broker.Envelope) {
	if m.Event == broker.EventTerminate {
		s.terminateLocal(m)
		return
	}
	if m.Event == broker.EventResync {
		s.resyncLocal(m)
		return
	}
	s.metrics.received.Add(1)
	if !m.PublishedAt.IsZero() {
		defer s.metrics.publishLatency.Since(m.PublishedAt)
	}
	if len(m.Channels) == 1 {
		s.deliverOrdered(m)
		return
	}
	s.hub.Deliver(m)
}

// Publish implements broadcast.Publisher.
// A reserved event name is refused with broadcast.ErrReservedEvent, so no
// publisher can forge the server's own events.
func (s *Server) Publish(ctx context.Context, m *broadcast.Message) error {
	if err := broadcast.ValidateEvent(m.Event); err != nil {
		return err
	}
	e := broker.Wrap(m)
	e.PublishedAt = time.Now()
	err := s.publishApp(ctx, e)
	s.metrics.countPublish(err)
	return err
}

// publish hands one of the server's own envelopes to the broker.
func (s *Server) publish(ctx context.Context, e *broker.Envelope) error {
	select {
	case <-s.closed:
		return broadcast.ErrClosed
	default:
	}
	return s.broker.Publish(ctx, e)
}

// Broadcast implements broadcast.Driver.
func (s *Server) Broadcast(channels []string, event string, data interface{}) error {
	return s.BroadcastExcept(channels, event, data, "")
}

// BroadcastExcept implements broadcast.Driver.
func (s *Server) BroadcastExcept(channels []string, event string, data interface{}, socketID string) error {
	raw, ok := data.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return fmt.Errorf("%w: %v", broadcast.ErrEncode, err)
		}
	}
	return s.Publish(context.Background(), &broadcast.Message{Channels: channels, Event: event, Data: raw, Except: socketID})
}

// GetClients implements broadcast.Driver: the socket ids of channel's
// subscribers, on the whole cluster when the broker is a ClientRegistry,
// else on this node.
func (s *Server) GetClients(channel string) []string {
	if s.registry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ids, err := s.registry.Clients(ctx, channel)
		if err == nil {
			return ids
		}
		s.logger.Warn("websocket: cluster clients unavailable, answering with local ones", "channel", channel, "err", err)
	}
	return s.hub.SocketIDs(channel)
}

// LocalClients returns the socket ids subscribed to channel on this node.
func (s *Server) LocalClients(channel string) []string { return s.hub.SocketIDs(channel) }

// Members implements broadcast.MemberLister: the members of a presence
// channel from the presence store (cluster-wide with the Redis driver),
// sorted by user id.
func (s *Server) Members(ctx context.Context, channel string) ([]broadcast.Member, error) {
	return s.presence.Members(ctx, channel)
}

// Health returns nil while the server can broadcast: always on one
// process; with a broker that depends on a back end (Redis), whether the
// back end answers.
func (s *Server) Health(ctx context.Context) error {
	select {
	case <-s.closed:
		return broadcast.ErrClosed
	default:
	}
	if h, ok := s.broker.(broker.HealthChecker); ok {
		return h.Health(ctx)
	}
	return nil
}

// ServeHTTP upgrades a request to the native protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, s.native)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, p *wireProtocol) {
	if !s.admit() {
		s.metrics.draining.Add(1)
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.metrics.upgradeFailed.Add(1)
		s.wg.Done() // Upgrade already answered the request.
		return
	}
	c := &client{srv: s, id: broadcast.NewSocketID(), proto: p, subs: make(map[string]*subscription)}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	s.pool.Init(&c.Conn, ws, c)
	s.track(c)
	id, refusal := s.refuse(r)
	if p.handshake != nil && refusal == nil {
		refusal = p.handshake(s, r)
	}
	if refusal == nil {
		refusal = s.countUser(c, broadcast.UserID(id.User))
	}
	if refusal != nil {
		s.stats.rejected.Add(1)
		s.debugClient(c, "websocket: connection refused", refusal, "")
		c.Close(refusal.Code, refusal.Message, p.Error(refusal, ""), false)
	} else {
		s.metrics.opened.Add(1)
		c.SendControl(p.Connected(c.id, int(s.cfg.PingInterval.Seconds())))
		c.setIdentity(id)
		c.opened = true
		s.notifyConn(broadcast.ConnectionOpened, c)
	}
	c.Serve()
}

// refuse identifies the user of a new connection, or returns why the
// connection may not stay.
func (s *Server) refuse(r *http.Request) (Identity, *ProtocolError) {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining { // Shutdown began after this connection was admitted.
		return Identity{}, protoErr(CodeShutdown, nil, "server shutting down")
	}
	if !s.originAllowed(r) {
		return Identity{}, protoErr(CodeUnauthorized, nil, "origin not allowed")
	}
	if max := s.cfg.MaxConnections; max > 0 && s.ConnectionCount() > max {
		return Identity{}, protoErr(CodeOverCapacity, nil, "over capacity, retry later")
	}
	if s.authn == nil {
		return Identity{}, nil
	}
	id, err := s.authn(r)
	if err != nil {
		return Identity{}, protoErr(CodeUnauthorized, err, "invalid credentials: %v", err)
	}
	return id, nil
}

func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || s.anyOrigin {
		return true
	}
	if s.origins[strings.ToLower(origin)] {
		return true
	}
	if len(s.origins) > 0 {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// admit counts a new connection unless the server is draining.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) track(c *client) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.sockets.add(c)
	s.stats.accepted.Add(1)
}

// release is called once per connection when everything it used is gone.
func (s *Server) release(c *client) {
	s.uncountUser(c)
	if c.opened {
		s.notifyConn(broadcast.ConnectionClosed, c)
	}
	s.sockets.remove(c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// ConnectionCount returns the number of open connections.
func (s *Server) ConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Connections  int    `json:"connections"`
	Accepted     uint64 `json:"accepted"`
	Rejected     uint64 `json:"rejected"`
	SlowClosed   uint64 `json:"slow_closed"`
	ClientEvents uint64 `json:"client_events"`
	// WriteStalls counts the times a connection's writes went to a writer
	// goroutine of its own because they could have to wait: its socket's
	// send buffer was full, or over 64 KiB were queued for it.
	WriteStalls uint64 `json:"write_stalls"`
	// Conflated counts events that replaced a queued event with the same
	// conflation key on a connection over its soft queue bound.
	Conflated uint64 `json:"conflated"`
	// GapsFilled counts the gaps of channels with history that this node
	// filled from the stream; Filled the publications it delivered so;
	// GapsUnfilled the gaps the stream no longer held (their subscribers
	// were sent to resubscribe). Recovered and NotRecovered count
	// subscribes with a since, by outcome.
	GapsFilled   uint64 `json:"gaps_filled"`
	Filled       uint64 `json:"filled"`
	GapsUnfilled uint64 `json:"gaps_unfilled"`
	Recovered    uint64 `json:"recovered"`
	NotRecovered uint64 `json:"not_recovered"`
	// CacheMisses counts subscriptions to cache channels that held no
	// event.
	CacheMisses uint64 `json:"cache_misses"`
	hub.Stats
	MetricStats // metrics.go
}

// Stats returns current counts.
func (s *Server) Stats() Stats {
	return Stats{
		Connections:  s.ConnectionCount(),
		Accepted:     s.stats.accepted.Load(),
		Rejected:     s.stats.rejected.Load(),
		SlowClosed:   s.pool.Counters.Slow.Load(),
		ClientEvents: s.stats.clientEvents.Load(),
		WriteStalls:  s.pool.Counters.Stalls.Load(),
		Conflated:    s.pool.Counters.Conflated.Load(),
		GapsFilled:   s.stats.gapsFilled.Load(),
		Filled:       s.stats.filled.Load(),
		GapsUnfilled: s.stats.gapsUnfilled.Load(),
		Recovered:    s.stats.recovered.Load(),
		NotRecovered: s.stats.notRecovered.Load(),
		CacheMisses:  s.stats.cacheMisses.Load(),
		Stats:        s.hub.Stats(),
		MetricStats:  s.metricStats(),
	}
}

// Shutdown refuses new connections, stops the listeners of
// ListenAndServe and Serve, closes every open connection with code 4200
// after flushing what is queued, and waits until their goroutines ended or
// ctx is done. Then it closes the broker, within what is left of ctx when
// the broker is a broker.ContextCloser. When ctx ends first, Shutdown cuts
// the remaining sockets and every remote call still running, closes the
// broker without its remote clean-up and returns ctx's error shortly after
// the deadline; the goroutines left end on their own moments later. It is
// idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.stopping.Store(true)
	s.stopCounts()
	conns := make([]*client, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	listeners := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	var errs []error
	for _, l := range listeners {
		// Upgraded connections are hijacked: Shutdown does not wait
		// for them, only for plain requests.
		errs = append(errs, l.Shutdown(ctx))
	}
	for _, c := range conns {
		c.Close(CodeShutdown, "server shutting down", nil, true)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		<-s.bg.wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.stop()
		s.mu.Lock()
		for c := range s.conns {
			c.Cut()
		}
		s.mu.Unlock()
	}
	s.stopOnce.Do(func() {
		close(s.closed)
		s.stop()
		if cerr := s.closeBroker(ctx); cerr != nil && err == nil {
			err = cerr
		}
	})
	if err != nil {
		// The sockets are cut and the broker closed: what is left ends
		// at once, or on its own remote deadline.
		t := time.NewTimer(shutdownGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	return errors.Join(append(errs, err)...)
}

// shutdownGrace is how long Shutdown waits past its deadline for the
// goroutines it cut short.
const shutdownGrace = 50 * time.Millisecond

// closeBroker closes the broker within ctx.
func (s *Server) closeBroker(ctx context.Context) error {
	if cc, ok := s.broker.(broker.ContextCloser); ok {
		return cc.CloseContext(ctx)
	}
	res := make(chan error, 1)
	go func() { res <- s.broker.Close() }()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(shutdownGrace)
	defer t.Stop()
	select {
	case err := <-res:
		return err
	case <-t.C:
		return fmt.Errorf("websocket: close broker: %w", ctx.Err())
	}
}

// readBufferSize is the per-connection read buffer. Client frames are
// small (subscribe, ping, whispers), so a small buffer keeps idle memory
// low; larger frames take a few more reads.
const readBufferSize = 512
