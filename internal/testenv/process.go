//go:build unix

package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is a server process a test starts, stops, freezes and kills:
// the part RedisServer and NATSServer share.
type process struct {
	t      testing.TB
	name   string // for messages: "redis-server"
	args   []string
	cmd    *exec.Cmd
	out    *Buffer
	exited chan struct{}
}

// start runs the process and waits until ready reports nil, for 10 s at
// most; a process that exits first fails the test with its output.
func (p *process) start(ready func() error) {
	p.t.Helper()
	p.out = &Buffer{}
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	p.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(p.cmd)
	deadline := time.Now().Add(10 * time.Second)
	for ready() != nil {
		select {
		case <-exited:
			p.t.Fatalf("%s exited at start: %s", p.name, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not answer within 10s: %s", p.name, p.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running reports whether the server runs: started and not stopped or
// killed since.
func (p *process) Running() bool { return p.cmd != nil }

// Freeze stops the process (SIGSTOP) and, where /proc tells, waits until
// it is stopped: connections stay open and nothing answers, so only
// timeouts end the calls.
func (p *process) Freeze() {
	p.signal(syscall.SIGSTOP)
	if p.cmd == nil {
		return
	}
	stat := fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // no /proc: the signal is all there is
		}
		// The state follows the command name in parentheses.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Thaw resumes a frozen server.
func (p *process) Thaw() { p.signal(syscall.SIGCONT) }

func (p *process) signal(sig syscall.Signal) {
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and waits for
// it; Start runs it again.
func (p *process) Stop() {
	if p.cmd == nil {
		return
	}
	p.Thaw() // a frozen process ignores SIGTERM until resumed
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// Kill ends the server with SIGKILL, as a crash would.
func (p *process) Kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}
