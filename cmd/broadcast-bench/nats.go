//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// natsVarz reads in_msgs and out_msgs from the /varz of the nats-server
// monitoring endpoint at addr (a loopback host:port, checked by
// validate), and, when pid is set, the server process's CPU seconds
// under "cpu".
func natsVarz(hc *http.Client, addr string, pid int) (map[string]float64, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/varz", nil)
	if err != nil {
		return nil, err
	}
	c := *hc
	c.Timeout = 3 * time.Second
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("nats /varz: HTTP %d", resp.StatusCode)
	}
	var v struct {
		InMsgs  float64 `json:"in_msgs"`
		OutMsgs float64 `json:"out_msgs"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return nil, fmt.Errorf("nats /varz: %w", err)
	}
	m := map[string]float64{"in": v.InMsgs, "out": v.OutMsgs}
	if s := readProc(pid); s.OK {
		m["cpu"] = s.CPU.Seconds()
	}
	return m, nil
}

// natsPerPublish fills res with the NATS messages between two /varz
// snapshots divided by the publishes of the window.
func natsPerPublish(res *Result, before, after map[string]float64, published uint64) {
	if before == nil || after == nil {
		return
	}
	res.NATSCPUs = after["cpu"] - before["cpu"]
	if published == 0 {
		return
	}
	pubs := float64(published)
	res.NATSInPerPub = (after["in"] - before["in"]) / pubs
	res.NATSOutPerPub = (after["out"] - before["out"]) / pubs
}
