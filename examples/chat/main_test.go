package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/velocitykode/velocity/plugin"
)

func TestOptionsFromEnvironment(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no secret file outside the test
	t.Setenv("XDG_CACHE_HOME", "")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	opts, err := options(plugin.Config{JWTSecret: "from-dotenv"}, getenv)
	if err != nil || string(opts.Secret) != "from-dotenv" || opts.TokenTTL != 0 {
		t.Fatalf("JWT_SECRET: %+v %v", opts, err)
	}
	// Without JWT_SECRET, two runs (a restart) share the secret kept in
	// the file, so tokens survive; another file is another secret.
	env["CHAT_SECRET_FILE"] = filepath.Join(t.TempDir(), "sub", "jwt-secret")
	a, errA := options(plugin.Config{}, getenv)
	b, errB := options(plugin.Config{}, getenv)
	if errA != nil || errB != nil || len(a.Secret) < 32 || string(a.Secret) != string(b.Secret) {
		t.Fatalf("secrets across a restart: %q %v, %q %v", a.Secret, errA, b.Secret, errB)
	}
	if st, err := os.Stat(env["CHAT_SECRET_FILE"]); err != nil || runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", st, err)
	}
	env["CHAT_SECRET_FILE"] = filepath.Join(t.TempDir(), "jwt-secret")
	if c, _ := options(plugin.Config{}, getenv); string(c.Secret) == string(a.Secret) {
		t.Fatal("another secret file gave the same secret")
	}
	if err := os.WriteFile(env["CHAT_SECRET_FILE"], []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, _ := options(plugin.Config{}, getenv); len(d.Secret) < 32 {
		t.Fatalf("a bad secret file gave %q", d.Secret)
	}
	delete(env, "CHAT_SECRET_FILE")

	env["CHAT_TOKEN_TTL"] = "90s"
	if opts, err := options(plugin.Config{}, getenv); err != nil || opts.TokenTTL != 90*time.Second {
		t.Fatalf("CHAT_TOKEN_TTL: %v %v", opts.TokenTTL, err)
	}
	for _, bad := range []string{"soon", "1s", "-1h"} {
		env["CHAT_TOKEN_TTL"] = bad
		if _, err := options(plugin.Config{}, getenv); err == nil {
			t.Errorf("CHAT_TOKEN_TTL=%s accepted", bad)
		}
	}
}
