// Command chat is the Velocity Broadcast chat example: sign in with a
// name, chat in rooms (presence channels) with an online list and a typing
// indicator, and get a notification when someone mentions you.
//
//	go run ./examples/chat        # http://localhost:8080 (ADDR overrides)
//
// The plugin reads .env and the environment (plugin.LoadConfig); JWT_SECRET
// signs the demo tokens and is generated at start when unset. CHAT_TOKEN_TTL
// (a Go duration, default 1h) sets the tokens' life. The app lives in
// package chatapp; this file only configures and serves it.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/velocitykode/velocity/examples/chat/chatapp"
	"github.com/velocitykode/velocity/examples/internal/serve"
	"github.com/velocitykode/velocity/plugin"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg, err := plugin.LoadConfig()
	if err != nil {
		return err
	}
	opts, err := options(cfg, os.Getenv)
	if err != nil {
		return err
	}
	app, err := chatapp.New(opts)
	if err != nil {
		return err
	}
	return serve.Run("chat", ":8080", app)
}

// options derives the app's options from the plugin config and the
// environment.
func options(cfg plugin.Config, getenv func(string) string) (chatapp.Options, error) {
	opts := chatapp.Options{Config: cfg, Secret: []byte(cfg.JWTSecret)}
	if len(opts.Secret) == 0 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		opts.Secret = []byte(hex.EncodeToString(b))
		slog.Warn("chat: JWT_SECRET is not set; using a per-process secret (set it to share tokens between instances)")
	}
	if v := getenv("CHAT_TOKEN_TTL"); v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil || ttl < 10*time.Second {
			return opts, errors.New("CHAT_TOKEN_TTL: want a duration of at least 10s, like 1h")
		}
		opts.TokenTTL = ttl
	}
	return opts, nil
}
