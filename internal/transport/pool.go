package transport

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Config bounds every connection of a Pool. Every field must be set; a
// MaxQueueBurstBytes below MaxQueueBytes counts as MaxQueueBytes.
type Config struct {
	MaxQueueBytes      int           // soft bound: outbound bytes queued before conflation starts
	MaxQueueBurstBytes int           // hard cap: outbound bytes queued before a slow-consumer close
	MaxMessageSize     int64         // largest client frame; larger closes with 1009
	WriteTimeout       time.Duration // deadline of every blocking write
	ReadTimeout        time.Duration // close when nothing was read for this long
	PingInterval       time.Duration // ping a connection this often
	SendBuffer         int           // kernel send buffer per socket (<= 0: the OS's)
	WriteDelay         time.Duration // hold every connection's frames this long
	WriteCoalesce      time.Duration // hold a busy connection's frames up to this long (<= 0: off)
	InboundRate        int           // client frames handled per second, with a burst of twice that (<= 0: no limit)
}

// Counters are the pool's totals; read them with Load.
type Counters struct {
	// Slow counts connections closed as slow consumers: their queue
	// passed the hard cap, or their socket took nothing for WriteTimeout.
	Slow atomic.Uint64
	// Conflated counts frames that replaced a queued frame with the same
	// conflation key.
	Conflated atomic.Uint64
	// Stalls counts the times a connection's writes went to a writer
	// goroutine of its own because they could have to wait.
	Stalls atomic.Uint64
	// Written counts the bytes writer goroutines wrote to sockets; see
	// Pool.BytesWritten for every byte written.
	Written atomic.Uint64
}

// BytesWritten returns the bytes written to the pool's sockets, by its
// flushers and by writer goroutines.
func (p *Pool) BytesWritten() uint64 {
	n := p.Counters.Written.Load()
	for _, f := range p.flushers {
		n += f.written.Load()
	}
	return n
}

// Handler is told what a connection reads. Its methods run on the
// connection's read goroutine, one at a time.
type Handler interface {
	// HandleText handles one complete text frame.
	HandleText(data []byte)
	// HandleBinary handles a binary frame, which the caller's protocols
	// may refuse.
	HandleBinary()
	// ReadEnded is called once when the read loop ends, before the
	// connection is released.
	ReadEnded()
	// CloseCode maps a close code to the one this connection's clients
	// should see.
	CloseCode(code int) int
	// Released is called once when the socket is closed and no goroutine
	// of the connection is left.
	Released()
}

// Pool holds what the connections of one server share: the bounds, the
// counters and the flushers.
type Pool struct {
	cfg      Config
	Counters Counters

	flushers []*flusher // one per processor; connections are spread over them
	next     atomic.Uint32
}

// NewPool returns a pool for connections bounded by cfg.
func NewPool(cfg Config) *Pool {
	cfg.MaxQueueBurstBytes = max(cfg.MaxQueueBurstBytes, cfg.MaxQueueBytes) // the hard cap is never below the soft bound
	p := &Pool{cfg: cfg, flushers: make([]*flusher, runtime.GOMAXPROCS(0))}
	for i := range p.flushers {
		p.flushers[i] = newFlusher(cfg.WriteDelay, cfg.WriteCoalesce)
	}
	return p
}

// Attach wraps an upgraded connection. Nothing is read until Serve is
// called; frames may be queued at once.
func (p *Pool) Attach(ws *websocket.Conn, h Handler) *Conn {
	c := new(Conn)
	p.Init(c, ws, h)
	return c
}

// Init is Attach into a Conn the caller allocated (embedded in its own
// per-connection struct, to save an allocation per connection). c must be
// a zero Conn that is not used before.
func (p *Pool) Init(c *Conn, ws *websocket.Conn, h Handler) {
	c.pool, c.ws, c.nc, c.h = p, ws, ws.NetConn(), h
	if tc, ok := c.nc.(*net.TCPConn); ok && p.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(p.cfg.SendBuffer)
	}
	if attachRaw(c) {
		c.flusher = p.flushers[p.next.Add(1)%uint32(len(p.flushers))]
		muteLibraryWriter(ws, c.nc)
	}
}

// writeBufPool holds the coalescing buffers of writer goroutines.
var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxCoalesce bounds one coalesced write.
const maxCoalesce = 64 << 10
