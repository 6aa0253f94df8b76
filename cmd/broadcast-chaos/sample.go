//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// sampler reads a server process's figures: RSS and open files from
// /proc, goroutines from the benchserver's GET /debug/runtime and
// connections from GET /stats.
type sampler struct {
	pid int
	api string
	hc  *http.Client
}

func (s *sampler) sample(ctx context.Context, at time.Duration) Sample {
	out := Sample{At: at, RSSMiB: -1, Goroutines: -1, FDs: -1, Conns: -1}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid)); err == nil {
		if kb, ok := statusField(b, "VmRSS:"); ok {
			out.RSSMiB = float64(kb) / 1024
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid)); err == nil {
		out.FDs = len(ents)
	}
	var rt struct {
		Goroutines int `json:"goroutines"`
	}
	if s.getJSON(ctx, "/debug/runtime", &rt) {
		out.Goroutines = rt.Goroutines
	}
	var st struct {
		Connections int `json:"connections"`
	}
	if s.getJSON(ctx, "/stats", &st) {
		out.Conns = st.Connections
	}
	return out
}

func (s *sampler) getJSON(ctx context.Context, path string, v any) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.api+path, nil)
	if err != nil {
		return false
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return err == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(b, v) == nil
}

// statusField returns the number after key in the text of
// /proc/<pid>/status (kB for the Vm* fields).
func statusField(status []byte, key string) (int64, bool) {
	i := bytes.Index(status, []byte(key))
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(status[i+len(key):])
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	return n, err == nil
}
