//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is a process's CPU time and resident memory at one instant.
type ProcSample struct {
	At  time.Time
	CPU time.Duration // user + system
	RSS uint64        // bytes
	OK  bool
}

// readProc samples /proc/<pid>; pid 0 gives a zero, not-OK sample.
func readProc(pid int) ProcSample {
	s := ProcSample{At: time.Now()}
	if pid <= 0 {
		return s
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return s
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s
	}
	s.CPU, s.RSS, s.OK = cpu, parseStatusRSS(status), true
	return s
}

// readProcs samples every process of pids and sums their CPU and RSS; the
// sum is OK when every sample is.
func readProcs(pids []int) ProcSample {
	s := ProcSample{At: time.Now(), OK: len(pids) > 0}
	for _, pid := range pids {
		p := readProc(pid)
		s.CPU += p.CPU
		s.RSS += p.RSS
		s.OK = s.OK && p.OK
	}
	return s
}

// parseStatCPU returns utime+stime from the text of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command field")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields", len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc stat: bad utime/stime")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// parseStatusRSS returns VmRSS in bytes from /proc/<pid>/status.
func parseStatusRSS(status []byte) uint64 {
	i := bytes.Index(status, []byte("VmRSS:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(status[i+len("VmRSS:"):])
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
	return kb * 1024
}

// raiseFDLimit lifts the soft open-file limit to the hard one and returns it.
func raiseFDLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
