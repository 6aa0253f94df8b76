package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretFile is where the chat keeps the demo's JWT secret when JWT_SECRET
// is unset, so that a restart does not sign every page out:
// CHAT_SECRET_FILE, or velocity-chat/jwt-secret in the user's cache
// directory.
func secretFile(getenv func(string) string) (string, error) {
	if p := getenv("CHAT_SECRET_FILE"); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "velocity-chat", "jwt-secret"), nil
}

// loadOrCreateSecret returns the secret stored at path, creating it (64
// random hex characters, mode 0600) when the file does not exist.
func loadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("%s holds %d characters, want at least 32 (delete it to make a new secret)", path, len(s))
		}
		return []byte(s), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another instance just made it
		return loadOrCreateSecret(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(secret), f.Close()
}
