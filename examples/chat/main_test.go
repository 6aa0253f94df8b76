package main

import (
	"testing"
	"time"

	"github.com/velocitykode/velocity/plugin"
)

func TestOptionsFromEnvironment(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	opts, err := options(plugin.Config{JWTSecret: "from-dotenv"}, getenv)
	if err != nil || string(opts.Secret) != "from-dotenv" || opts.TokenTTL != 0 {
		t.Fatalf("JWT_SECRET: %+v %v", opts, err)
	}
	a, _ := options(plugin.Config{}, getenv)
	b, _ := options(plugin.Config{}, getenv)
	if len(a.Secret) < 32 || string(a.Secret) == string(b.Secret) {
		t.Fatalf("generated secrets %q %q", a.Secret, b.Secret)
	}

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
