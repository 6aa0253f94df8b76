package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/hub"
	"github.com/velocitykode/velocity/broadcast/signature"
)

// Server serves WebSocket connections and implements broadcast.Driver: it
// owns the local hub, the connections and a Broker that carries messages
// between nodes. Build one with NewServer.
type Server struct {
	cfg         Config
	hub         *hub.Hub
	broker      Broker
	presence    PresenceStore
	logger      *slog.Logger
	authn       func(r *http.Request) (Identity, error)
	app         signature.App
	verifyToken func(token string) (Identity, error)
	bc          atomic.Pointer[broadcast.Broadcaster]

	upgrader  websocket.Upgrader
	origins   map[string]bool
	anyOrigin bool

	seed    maphash.Seed
	stripes stripes // per-channel-stripe: broker subscriptions and presence

	flushers []*flusher // one per processor; connections are spread over them
	nextFl   atomic.Uint32

	mu       sync.Mutex
	conns    map[*conn]struct{}
	sockets  socketIndex // socket id → local connection
	draining bool
	wg       sync.WaitGroup
	closed   chan struct{}
	stopOnce sync.Once

	stats struct {
		accepted, rejected, slow atomic.Uint64
		clientEvents             atomic.Uint64
		stalls                   atomic.Uint64
	}
}

// Option configures a Server.
type Option func(*Server)

// WithBroker sets the broker (default: a LocalBroker, single process).
func WithBroker(b Broker) Option { return func(s *Server) { s.broker = b } }

// WithPresenceStore sets the presence store (default: in memory).
func WithPresenceStore(p PresenceStore) Option { return func(s *Server) { s.presence = p } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

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
		hub:     hub.New(nativeCodec{}, pusherCodec{}),
		logger:  slog.Default(),
		seed:    maphash.MakeSeed(),
		conns:   make(map[*conn]struct{}),
		closed:  make(chan struct{}),
		origins: make(map[string]bool),
	}
	for _, o := range opts {
		o(s)
	}
	s.flushers = make([]*flusher, runtime.GOMAXPROCS(0))
	for i := range s.flushers {
		s.flushers[i] = newFlusher(cfg.WriteDelay, cfg.WriteCoalesce)
	}
	if s.broker == nil {
		s.broker = NewLocalBroker()
	}
	if s.presence == nil {
		s.presence = NewMemoryPresence()
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
	s.bc.Store(broadcast.New(nil))
	if err := s.broker.Start(s.deliver); err != nil {
		return nil, fmt.Errorf("websocket: start broker: %w", err)
	}
	return s, nil
}

// Bind implements broadcast.Binder: subscriptions consult b's authorizer
// and presence hooks.
func (s *Server) Bind(b *broadcast.Broadcaster) { s.bc.Store(b) }

// Config returns the server's effective configuration.
func (s *Server) Config() Config { return s.cfg }

// Hub returns the server's local hub.
func (s *Server) Hub() *hub.Hub { return s.hub }

func (s *Server) broadcaster() *broadcast.Broadcaster { return s.bc.Load() }

// deliver is the broker's entry into this node.
func (s *Server) deliver(m *broadcast.Message) {
	if m.Event == eventTerminate {
		s.terminateLocal(m)
		return
	}
	if len(m.Channels) == 1 {
		s.deliverOrdered(m)
		return
	}
	s.hub.Deliver(m)
}

// Publish implements broadcast.Publisher.
func (s *Server) Publish(ctx context.Context, m *broadcast.Message) error {
	select {
	case <-s.closed:
		return broadcast.ErrClosed
	default:
	}
	return s.broker.Publish(ctx, m)
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
	if reg, ok := s.broker.(ClientRegistry); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ids, err := reg.Clients(ctx, channel)
		if err == nil {
			return ids
		}
		s.logger.Warn("websocket: cluster clients unavailable, answering with local ones", "channel", channel, "err", err)
	}
	return s.hub.SocketIDs(channel)
}

// Presence returns the presence store.
func (s *Server) Presence() PresenceStore { return s.presence }

// Broker returns the broker.
func (s *Server) Broker() Broker { return s.broker }

// ServeHTTP upgrades a request to the native protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, nativeProtocol{})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, p protocol) {
	if !s.admit() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.wg.Done() // Upgrade already answered the request.
		return
	}
	c := &conn{srv: s, ws: ws, nc: ws.NetConn(), id: broadcast.NewSocketID(), proto: p, subs: make(map[string]*subscription)}
	if tc, ok := c.nc.(*net.TCPConn); ok && s.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(s.cfg.SendBuffer)
	}
	s.attachFlusher(c)
	s.register(c)
	id, refusal := s.refuse(r)
	if hc, ok := p.(handshakeChecker); ok && refusal == nil {
		refusal = hc.checkHandshake(s, r)
	}
	if refusal != nil {
		s.stats.rejected.Add(1)
		c.closeWith(refusal.Code, refusal.Message, p.errorFrame(refusal, ""), false)
	} else {
		c.sendControl(p.connected(c))
		c.schedulePing()
		c.setIdentity(id)
	}
	go c.readLoop()
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

// attachFlusher gives c a flusher when its socket allows non-blocking
// writes by file descriptor (a plain TCP or Unix socket; not TLS).
func (s *Server) attachFlusher(c *conn) {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw, c.rawWrite = raw, c.rawWriteFn
	c.flusher = s.flushers[s.nextFl.Add(1)%uint32(len(s.flushers))]
	muteLibraryWriter(c.ws, c.nc)
}

func (s *Server) register(c *conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.sockets.add(c)
	s.stats.accepted.Add(1)
}

// release is called once per connection when everything it used is gone.
func (s *Server) release(c *conn) {
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
	hub.Stats
}

// Stats returns current counts.
func (s *Server) Stats() Stats {
	return Stats{
		Connections:  s.ConnectionCount(),
		Accepted:     s.stats.accepted.Load(),
		Rejected:     s.stats.rejected.Load(),
		SlowClosed:   s.stats.slow.Load(),
		ClientEvents: s.stats.clientEvents.Load(),
		WriteStalls:  s.stats.stalls.Load(),
		Stats:        s.hub.Stats(),
	}
}

// Shutdown refuses new connections, closes every open one with code 4200
// after flushing what is queued, and waits until their goroutines ended or
// ctx is done (then it cuts the remaining sockets). It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(CodeShutdown, "server shutting down", nil, true)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		err = ctx.Err()
	}
	s.stopOnce.Do(func() {
		close(s.closed)
		if cerr := s.broker.Close(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// readBufferSize is the per-connection read buffer. Client frames are
// small (subscribe, ping, whispers), so a small buffer keeps idle memory
// low; larger frames take a few more reads.
const readBufferSize = 512
