package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one attacking or probing connection.
type conn struct {
	ws *websocket.Conn
}

func dial(addr string) (*conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil { // connected
		ws.Close()
		return nil, fmt.Errorf("connected frame: %w", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return &conn{ws: ws}, nil
}

// dialN opens n connections, each subscribed to channel unless it is "".
func dialN(addr string, n int, channel string) ([]*conn, error) {
	cs := make([]*conn, 0, n)
	for range n {
		c, err := dial(addr)
		if err != nil {
			return nil, err
		}
		if channel != "" {
			if err := c.ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"subscribe","channel":%q}`, channel)); err != nil {
				return nil, err
			}
			if _, _, err := c.ws.ReadMessage(); err != nil {
				return nil, err
			}
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// closeCode is the close code an error from a read carries (1006 when
// the socket ended without a close frame).
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return websocket.CloseAbnormalClosure
}

// readAll counts what c receives, by type (and code for errors), until
// its socket ends or stop is closed; it returns the close code.
func (c *conn) readAll(answers map[string]int, mu *sync.Mutex) int {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return closeCode(err)
		}
		var f struct {
			Type string `json:"type"`
			Data struct {
				Code int `json:"code"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &f)
		k := f.Type
		if f.Data.Code != 0 {
			k = fmt.Sprintf("%s/%d", f.Type, f.Data.Code)
		}
		mu.Lock()
		answers[k]++
		mu.Unlock()
	}
}

// flood writes frames made by next on c until dur passed or a write
// failed; it returns how many it wrote.
func (c *conn) flood(dur time.Duration, next func(i int) []byte) int {
	end := time.Now().Add(dur)
	_ = c.ws.SetWriteDeadline(end)
	n := 0
	for time.Now().Before(end) {
		if err := c.ws.WriteMessage(websocket.TextMessage, next(n)); err != nil {
			break
		}
		n++
	}
	return n
}

// attack runs fn as the attacker, with RSS sampled around it.
func attack(o options, fn func(r *report)) report {
	r := report{closeCodes: map[int]int{}, answers: map[string]int{}, rssBefore: rssMiB(o.pid)}
	s := sample(o.pid)
	fn(&r)
	r.rssPeak = s.end()
	r.stats = serverStats(o.addr)
	time.Sleep(2 * time.Second) // let the server release what the attack held
	r.rssAfter = rssMiB(o.pid)
	return r
}

// subFlood: one connection subscribes to n distinct public channels.
func subFlood(o options) (report, error) {
	n := or(o.n, 200000)
	c, err := dial(o.addr)
	if err != nil {
		return report{}, err
	}
	r := attack(o, func(r *report) {
		var mu sync.Mutex
		done := make(chan int, 1)
		go func() { done <- c.readAll(r.answers, &mu) }()
		r.sent = c.flood(o.dur, func(i int) []byte {
			if i >= n {
				return []byte(`{"type":"ping"}`)
			}
			return fmt.Appendf(nil, `{"type":"subscribe","channel":"flood.%d"}`, i)
		})
		st := serverStats(o.addr)
		r.lines = append(r.lines, fmt.Sprintf("subscriptions held  %v (after %d subscribe frames written in %s)", st["subscriptions"], min(r.sent, n), o.dur))
		c.ws.Close()
		r.closeCodes[<-done]++
	})
	return r, nil
}

// pingFlood: one connection sends n pings and never reads.
func pingFlood(o options) (report, error) {
	n := or(o.n, 300000)
	c, err := dial(o.addr)
	if err != nil {
		return report{}, err
	}
	r := attack(o, func(r *report) {
		ping := []byte(`{"type":"ping"}`)
		r.sent = c.flood(o.dur, func(i int) []byte {
			if i >= n {
				return nil
			}
			return ping
		})
		var mu sync.Mutex
		_ = c.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
		r.closeCodes[c.readAll(r.answers, &mu)]++
		c.ws.Close()
	})
	return r, nil
}

// junk: 8 connections send 1-byte text frames (each answered with an
// error frame) and never read.
func junk(o options) (report, error) {
	cs, err := dialN(o.addr, 8, "")
	if err != nil {
		return report{}, err
	}
	r := attack(o, func(r *report) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := c.flood(o.dur, func(int) []byte { return []byte("x") })
				_ = c.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
				code := c.readAll(map[string]int{}, &mu)
				mu.Lock()
				r.sent += k
				r.closeCodes[code]++
				mu.Unlock()
				c.ws.Close()
			}()
		}
		wg.Wait()
	})
	return r, nil
}

func or(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// publish posts events to the benchserver in one request.
func publish(addr string, events []map[string]any) error {
	body, _ := json.Marshal(events)
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post("http://"+addr+"/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: HTTP %d", resp.StatusCode)
	}
	return nil
}

// burst: 3,000 events of 8 KiB in one loop to a reader that keeps
// reading and one that stalled.
func burst(o options) (report, error) {
	n := or(o.n, 3000)
	readers, err := dialN(o.addr, 2, "burst")
	if err != nil {
		return report{}, err
	}
	fast, stalled := readers[0], readers[1]
	r := attack(o, func(r *report) {
		pad := strings.Repeat("b", 8<<10)
		events := make([]map[string]any, n)
		for i := range events {
			events[i] = map[string]any{"channel": "burst", "event": "Tick", "data": map[string]any{"i": i, "p": pad}}
		}
		got := make(chan int, 1)
		go func() {
			k := 0
			_ = fast.ws.SetReadDeadline(time.Now().Add(o.dur))
			for k < n {
				if _, _, err := fast.ws.ReadMessage(); err != nil {
					r.closeCodes[closeCode(err)]++
					break
				}
				k++
			}
			got <- k
		}()
		start := time.Now()
		for i := 0; i < n; i += 500 { // the benchserver takes 16 MiB per request
			if err := publish(o.addr, events[i:min(n, i+500)]); err != nil {
				r.lines = append(r.lines, "publish failed: "+err.Error())
				break
			}
		}
		r.sent = n
		k := <-got
		r.lines = append(r.lines, fmt.Sprintf("fast reader got      %d of %d in %s", k, n, time.Since(start).Round(time.Millisecond)))
		// The stalled reader is closed once its socket took nothing for
		// the server's write timeout; wait for that before reading it.
		deadline := time.Now().Add(o.dur)
		for time.Now().Before(deadline) {
			if v, _ := serverStats(o.addr)["slow_closed"].(float64); v > 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The stalled reader reads now: what reached it, and how it ended.
		var mu sync.Mutex
		_ = stalled.ws.SetReadDeadline(time.Now().Add(o.dur))
		code := stalled.readAll(r.answers, &mu)
		r.lines = append(r.lines, fmt.Sprintf("stalled reader end   %d", code))
		fast.ws.Close()
		stalled.ws.Close()
	})
	return r, nil
}
