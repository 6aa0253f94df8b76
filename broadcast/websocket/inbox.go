package websocket

import "sync"

// A connection's frames are handled one at a time, in order. Most are
// handled on the read goroutine. A frame that needs remote work (a join
// the node cannot do locally) hands it to a worker goroutine with
// goRemote; until the worker is done, later frames wait in the
// connection's inbox and the worker handles them after it, so every
// answer keeps the order of the requests while the read loop goes on
// reading (WebSocket pings, pongs and close frames are answered at once).
//
// The inbox holds maxInbox frames; when it is full the read loop waits for
// room, which one remote step bounds (remoteTimeout), and the client's
// further frames wait in its socket buffers meanwhile.
type inbox struct {
	mu       sync.Mutex
	room     sync.Cond
	busy     bool // a worker owns the handling of c's frames
	frames   [][]byte
	ended    bool // the read loop ended: the worker cleans up
	released bool // the transport is done: the worker releases c
}

const maxInbox = 64

// queue keeps data for the worker when one is busy, and reports whether
// it did; else the caller handles data.
func (c *client) queue(data []byte) bool {
	in := &c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.room.L == nil {
		in.room.L = &in.mu
	}
	for in.busy && len(in.frames) >= maxInbox {
		in.room.Wait()
	}
	if !in.busy {
		return false
	}
	in.frames = append(in.frames, data)
	return true
}

// goRemote runs step off the read goroutine; c's later frames wait for
// it. On the worker itself it runs step at once.
func (c *client) goRemote(step func()) {
	if c.inWorker {
		step()
		return
	}
	c.in.mu.Lock()
	c.in.busy = true
	c.inWorker = true // the worker owns the frames from here on
	c.in.mu.Unlock()
	c.srv.bg.add()
	go c.work(step)
}

// work runs step, then the frames that waited for it, then hands the
// frames back to the read goroutine, or cleans up if the read ended.
func (c *client) work(step func()) {
	defer c.srv.bg.done()
	step()
	in := &c.in
	for {
		in.mu.Lock()
		if len(in.frames) == 0 || in.ended {
			ended, released := in.ended, in.released
			in.busy, in.frames, c.inWorker = false, nil, false
			if in.room.L != nil {
				in.room.Broadcast()
			}
			in.mu.Unlock()
			if ended {
				c.cleanup()
			}
			if released {
				c.srv.release(c)
			}
			return
		}
		f := in.frames[0]
		in.frames = in.frames[1:]
		if in.room.L != nil {
			in.room.Signal()
		}
		in.mu.Unlock()
		c.handle(f)
	}
}

// readEnded records the end of the read loop; it reports false when a
// worker is busy, which then cleans up itself.
func (c *client) readEnded() bool {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	if c.in.busy {
		c.in.ended = true
		if c.in.room.L != nil {
			c.in.room.Broadcast()
		}
		return false
	}
	return true
}

// releasable reports whether c may be released now; when a worker is
// busy it releases c when done.
func (c *client) releasable() bool {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	if c.in.busy {
		c.in.released = true
		return false
	}
	return true
}
