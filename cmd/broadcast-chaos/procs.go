//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// child is a process the tool started: a Redis or a benchserver node. It
// dies with the tool (Pdeathsig), and every pid is listed in the pid file
// so that the calling script can clean up after a crash too.
type child struct {
	name string
	path string
	args []string
	env  []string
	log  string // file receiving stdout and stderr

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// children is the set of processes of one run.
type children struct {
	mu      sync.Mutex
	list    []*child
	pidFile string
}

func (cs *children) add(c *child) *child {
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
	return c
}

// notePid appends "pid start-time" to the pid file (best effort); the
// start time tells the process from a later one given the same pid.
func (cs *children) notePid(pid int) {
	if cs.pidFile == "" {
		return
	}
	f, err := os.OpenFile(cs.pidFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintln(f, pid, startTime(pid))
	_ = f.Close()
}

// startTime returns field 22 of /proc/<pid>/stat, the process's start
// time in clock ticks since boot ("" if unreadable).
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	if i < 0 || len(f) < 20 {
		return ""
	}
	return string(f[19])
}

// start runs the child (again, after it exited).
func (cs *children) start(c *child) error {
	out, err := os.OpenFile(c.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.path, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = out.Close()
		close(exited)
	}()
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	cs.notePid(cmd.Process.Pid)
	return nil
}

// pid returns the running process's id, 0 if none.
func (c *child) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// signal sends sig to the running process.
func (c *child) signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return errors.New(c.name + ": not started")
	}
	return c.cmd.Process.Signal(sig)
}

// wait waits until the process exited or d passed; it reports whether it
// exited.
func (c *child) wait(d time.Duration) bool {
	c.mu.Lock()
	ch := c.exited
	c.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// kill ends the process at once and waits for it.
func (c *child) kill() {
	_ = c.signal(syscall.SIGCONT) // a stopped process cannot die otherwise
	_ = c.signal(syscall.SIGKILL)
	c.wait(10 * time.Second)
}

// stop asks the process to end (SIGTERM), then kills it after grace.
func (c *child) stop(grace time.Duration) {
	_ = c.signal(syscall.SIGCONT)
	_ = c.signal(syscall.SIGTERM)
	if !c.wait(grace) {
		c.kill()
	}
}

// stopAll ends every child, newest first.
func (cs *children) stopAll() {
	cs.mu.Lock()
	list := append([]*child(nil), cs.list...)
	cs.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop(6 * time.Second)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redisChild describes a Redis of the tool's own on port, without
// persistence, bound to loopback.
func redisChild(bin string, port int, log string) *child {
	return &child{name: "redis", path: bin, log: log, args: []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
	}}
}

// nodeChild describes a benchserver on addr; with a Redis port it uses the
// Redis driver, with history rules (BROADCAST_HISTORY) it keeps history.
func nodeChild(name, bin, addr string, redisPort int, log, history string) *child {
	env := []string{"ADDR=" + addr}
	if history != "" {
		env = append(env, "BROADCAST_HISTORY="+history)
	}
	if redisPort > 0 {
		env = append(env, "BROADCAST_DRIVER=redis",
			fmt.Sprintf("REDIS_URL=redis://127.0.0.1:%d/0", redisPort))
	}
	return &child{name: name, path: bin, log: log, env: env}
}
