//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisInfo reads INFO commandstats and cpu from the Redis at addr (a
// loopback host:port, checked by validate) over a connection of its own,
// speaking just enough RESP for one command. It returns the calls of
// each command by name and, under "cpu", Redis's user+system CPU seconds.
func redisInfo(addr string) (map[string]float64, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(nc, "*3\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n$3\r\ncpu\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	head = strings.TrimRight(head, "\r\n")
	if !strings.HasPrefix(head, "$") {
		return nil, fmt.Errorf("redis INFO: %.200s", head)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, errors.New("redis INFO: bad reply length")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return parseRedisInfo(body), nil
}

// parseRedisInfo picks cmdstat_<name>:calls=N and used_cpu_sys/user out
// of an INFO reply.
func parseRedisInfo(body []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range bytes.Split(body, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch key := string(k); {
		case strings.HasPrefix(key, "cmdstat_"):
			calls, _, _ := bytes.Cut(v, []byte(","))
			if n, ok := bytes.CutPrefix(calls, []byte("calls=")); ok {
				if f, err := strconv.ParseFloat(string(n), 64); err == nil {
					m[strings.TrimPrefix(key, "cmdstat_")] = f
				}
			}
		case key == "used_cpu_sys" || key == "used_cpu_user":
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				m["cpu"] += f
			}
		}
	}
	return m
}

// redisPerPublish fills res with the Redis commands between two INFO
// snapshots divided by the publishes of the window.
func redisPerPublish(res *Result, before, after map[string]float64, published uint64) {
	if before == nil || after == nil {
		return
	}
	res.RedisCPUs = after["cpu"] - before["cpu"]
	if published == 0 {
		return
	}
	res.RedisPerPub = map[string]float64{}
	pubs := float64(published)
	for name, calls := range after {
		if name == "cpu" || name == "info" {
			continue
		}
		d := calls - before[name]
		if d <= 0 {
			continue
		}
		res.RedisPerPub[name] = d / pubs
		res.RedisCmdsPerPub += d / pubs
	}
	res.RedisScripts = res.RedisPerPub["evalsha"] + res.RedisPerPub["eval"]
}
