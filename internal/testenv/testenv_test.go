package testenv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		err     error
		require bool
		want    outcome
	}{
		{nil, false, proceed},
		{nil, true, proceed},
		{down, false, skip},
		{down, true, fail},
	} {
		if got := decide(tc.err, tc.require); got != tc.want {
			t.Errorf("decide(%v, require=%v) = %v, want %v", tc.err, tc.require, got, tc.want)
		}
	}
}

func TestRequire(t *testing.T) {
	t.Setenv(RequireEnv, "")
	if Require() {
		t.Error("Require() with the variable empty")
	}
	t.Setenv(RequireEnv, "1")
	if !Require() {
		t.Error("!Require() with the variable set")
	}
}

func TestReasons(t *testing.T) {
	r := redisReason("redis://user:hunter2@127.0.0.1:6379/0", errors.New("dial tcp: connection refused"))
	for _, want := range []string{"Redis not reachable at redis://user:xxxxx@127.0.0.1:6379/0", "connection refused", "REDIS_URL", "./scripts/test.sh"} {
		if !strings.Contains(r, want) {
			t.Errorf("redis reason %q lacks %q", r, want)
		}
	}
	if strings.Contains(r, "hunter2") || strings.Contains(r, "\n") {
		t.Errorf("redis reason %q shows the password or has several lines", r)
	}
	c := chromiumReason(errors.New("none found"))
	for _, want := range []string{"Chromium not found", "none found", "CHROMIUM", "./scripts/browser-deps.sh"} {
		if !strings.Contains(c, want) {
			t.Errorf("chromium reason %q lacks %q", c, want)
		}
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any) { r.failed = args[0].(string) }

func TestSettle(t *testing.T) {
	for _, o := range []outcome{proceed, skip, fail} {
		r := &recorder{}
		settle(r, o, "why")
		if (r.skipped == "why") != (o == skip) || (r.failed == "why") != (o == fail) {
			t.Errorf("settle(%v): skipped %q, failed %q", o, r.skipped, r.failed)
		}
	}
}

func TestRedisUnreachable(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0") // nothing listens on port 1
	for _, require := range []string{"", "1"} {
		t.Setenv(RequireEnv, require)
		r := &recorder{}
		start := time.Now()
		if got := Redis(r); got != "redis://127.0.0.1:1/0" {
			t.Errorf("Redis = %q", got)
		}
		if d := time.Since(start); d > RedisTimeout+time.Second {
			t.Errorf("the check took %v", d)
		}
		reason := r.skipped
		if require != "" {
			reason = r.failed
			if r.skipped != "" {
				t.Errorf("required, yet skipped: %q", r.skipped)
			}
		} else if r.failed != "" {
			t.Errorf("optional, yet failed: %q", r.failed)
		}
		if !strings.HasPrefix(reason, "Redis not reachable at redis://127.0.0.1:1/0: ") {
			t.Errorf("require=%q: reason %q", require, reason)
		}
	}
}

func TestRedisURL(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	if got := RedisURL(); got != DefaultRedisURL {
		t.Errorf("default RedisURL = %q", got)
	}
	t.Setenv("REDIS_URL", "redis://127.0.0.1:6380/2")
	if got := RedisURL(); got != "redis://127.0.0.1:6380/2" {
		t.Errorf("RedisURL = %q", got)
	}
	if err := pingRedis("http://127.0.0.1:6379", time.Second); err == nil {
		t.Error("pingRedis accepted an http URL")
	}
}

func TestFindChromium(t *testing.T) {
	on := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, n := range names {
				if n == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", fs.ErrNotExist
		}
	}
	if p, err := findChromium("", on("google-chrome", "chromium-browser")); err != nil || p != "/usr/bin/chromium-browser" {
		t.Errorf("PATH order: %q, %v", p, err)
	}
	if p, err := findChromium("", on()); err == nil || p != "" {
		t.Errorf("nothing on PATH: %q, %v", p, err)
	}
	if _, err := findChromium("/opt/chrome/chrome", on("chromium")); err == nil || !strings.Contains(err.Error(), "CHROMIUM=/opt/chrome/chrome") {
		t.Errorf("a missing CHROMIUM: %v", err)
	}

	// With a real executable named by CHROMIUM, Chromium returns it.
	exe := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHROMIUM", exe)
	r := &recorder{}
	if got := Chromium(r); got != exe || r.skipped != "" || r.failed != "" {
		t.Errorf("Chromium = %q (skipped %q, failed %q)", got, r.skipped, r.failed)
	}
}

// TestLocalRedis uses the helper as a test would: it runs against the
// local Redis, and is skipped (or fails, with VELOCITY_REQUIRE_SERVICES)
// when there is none.
func TestLocalRedis(t *testing.T) {
	if u := Redis(t); u == "" {
		t.Fatal("empty URL")
	}
}
