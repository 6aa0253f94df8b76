package plugin_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/plugin"
)

// testMasterKeyB64 is the bytes 0, 1, …, 31.
const testMasterKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestEncryptedChannelEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{"BROADCAST_ENCRYPTION_MASTER_KEY": testMasterKeyB64})
	const ch = "private-encrypted-user.1"

	// The auth answer carries the shared secret, outside the signature.
	status, out := s.auth(s.token("1", time.Hour), "123.456", ch, false)
	if status != 200 {
		t.Fatalf("auth: %d %v", status, out)
	}
	if want := signature.ChannelAuth(s.p.Config().App, "123.456", ch, ""); out["auth"] != want {
		t.Fatalf("auth = %q, want %q", out["auth"], want)
	}
	secret, err := base64.StdEncoding.DecodeString(out["shared_secret"])
	if err != nil || len(secret) != 32 {
		t.Fatalf("shared_secret %q: %v", out["shared_secret"], err)
	}
	key, _ := base64.StdEncoding.DecodeString(testMasterKeyB64)
	if want := broadcast.ChannelSharedSecret(ch, key); string(secret) != string(want[:]) {
		t.Fatalf("shared_secret differs from SHA-256(channel ‖ master key)")
	}
	// The authorizer still decides.
	if status, out := s.auth(s.token("2", time.Hour), "123.456", ch, false); status != 403 || out["error"] != "forbidden" {
		t.Fatalf("other user: %d %v", status, out)
	}

	alice := s.dial("1")
	if f := alice.Subscribe(ch, "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("subscribe: %s", f.Raw)
	}
	if err := s.b.Private("encrypted-user.1").Emit("Invoice", map[string]int{"total": 42}); err != nil {
		t.Fatal(err)
	}
	f := alice.Expect("Invoice")
	var p struct{ Nonce, Ciphertext string }
	if err := json.Unmarshal(f.Data, &p); err != nil {
		t.Fatalf("data %s: %v", f.Data, err)
	}
	nonce, _ := base64.StdEncoding.DecodeString(p.Nonce)
	box, _ := base64.StdEncoding.DecodeString(p.Ciphertext)
	if len(nonce) != 24 {
		t.Fatalf("nonce of %d bytes", len(nonce))
	}
	plain, ok := secretbox.Open(nil, box, (*[24]byte)(nonce), (*[32]byte)(secret))
	if !ok || string(plain) != `{"total":42}` {
		t.Fatalf("decrypted %q, %v", plain, ok)
	}

	// Client events are refused on encrypted channels.
	alice.Send(map[string]any{"type": "client-typing", "channel": ch, "data": map[string]bool{"typing": true}})
	if f := alice.Expect("error"); f.Code() != websocket.CodeClientEvent {
		t.Fatalf("client event: %s", f.Raw)
	}

	// One event to an encrypted channel and another channel is refused.
	if err := s.b.Private("encrypted-user.1", "user.1").Emit("Invoice", 1); !errors.Is(err, broadcast.ErrEncryptedChannels) {
		t.Fatalf("mixed emit: %v", err)
	}
}

func TestEncryptedChannelWithoutMasterKey(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const ch = "private-encrypted-user.1"
	if status, out := s.auth(s.token("1", time.Hour), "123.456", ch, true); status != 403 || out["error"] != "encryption_not_configured" || !strings.Contains(out["message"], "BROADCAST_ENCRYPTION_MASTER_KEY") {
		t.Fatalf("auth: %d %v", status, out)
	}
	alice := s.dial("1")
	if f := alice.Subscribe(ch, "", ""); f.Type != "subscription_error" || f.Code() != websocket.CodeUnauthorized {
		t.Fatalf("subscribe: %s", f.Raw)
	}
	if err := s.b.Private("encrypted-user.1").Emit("Invoice", 1); !errors.Is(err, broadcast.ErrNoMasterKey) {
		t.Fatalf("emit: %v", err)
	}
}

func TestEncryptionMasterKeyConfig(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]string{
		"not base64": "not base64!",
		"16 bytes":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"33 bytes":   base64.StdEncoding.EncodeToString(make([]byte, 33)),
	} {
		_, err := plugin.FromLookup(func(k string) (string, bool) {
			if k == "BROADCAST_ENCRYPTION_MASTER_KEY" {
				return v, true
			}
			return "", false
		})
		if !errors.Is(err, plugin.ErrInvalidConfig) || !strings.Contains(err.Error(), "BROADCAST_ENCRYPTION_MASTER_KEY") {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), v) {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
	cfg, err := plugin.FromLookup(func(k string) (string, bool) {
		if k == "BROADCAST_ENCRYPTION_MASTER_KEY" {
			return testMasterKeyB64, true
		}
		return "", false
	})
	if err != nil || len(cfg.EncryptionMasterKey) != 32 || cfg.EncryptionMasterKey[31] != 31 {
		t.Fatalf("valid key: %v %x", err, cfg.EncryptionMasterKey)
	}
}
