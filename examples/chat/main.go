// Command chat is the Velocity Broadcast chat example: sign in with a
// name, chat in rooms (presence channels) with an online list and a typing
// indicator, and get a notification when someone mentions you.
//
//	go run ./examples/chat        # http://localhost:8080 (ADDR overrides)
//
// The plugin reads .env and the environment (plugin.LoadConfig); JWT_SECRET
// signs the demo tokens. When it is unset, a secret is generated once and
// kept in velocity-chat/jwt-secret under the user's cache directory
// (CHAT_SECRET_FILE overrides the path), so a restart signs nobody out.
// CHAT_TOKEN_TTL
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
		path, err := secretFile(getenv)
		if err == nil {
			opts.Secret, err = loadOrCreateSecret(path)
		}
		if err != nil {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			opts.Secret = []byte(hex.EncodeToString(b))
			slog.Warn("chat: JWT_SECRET is not set and no secret file is usable; using a per-process secret, so a restart signs everyone out", "err", err)
		} else {
			slog.Info("chat: JWT_SECRET is not set; using the secret kept in a file (set JWT_SECRET to share tokens between instances)", "file", path)
		}
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
