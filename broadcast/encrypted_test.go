package broadcast_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/velocitykode/velocity/broadcast"
)

// testMasterKey is the bytes 0, 1, …, 31 (base64
// AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=).
var testMasterKey = func() []byte {
	k := make([]byte, broadcast.MasterKeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

// messages is a Publisher driver that keeps every message.
type messages struct {
	mu   sync.Mutex
	msgs []broadcast.Message
}

func (d *messages) Publish(_ context.Context, m *broadcast.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, *m)
	return nil
}
func (d *messages) Broadcast([]string, string, any) error               { return nil }
func (d *messages) BroadcastExcept([]string, string, any, string) error { return nil }
func (d *messages) GetClients(string) []string                          { return nil }

func (d *messages) all() []broadcast.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]broadcast.Message(nil), d.msgs...)
}

func encryptedBroadcaster(t *testing.T) (*broadcast.Broadcaster, *messages) {
	t.Helper()
	d := &messages{}
	b := broadcast.New(d)
	if err := b.SetEncryptionMasterKey(testMasterKey); err != nil {
		t.Fatal(err)
	}
	return b, d
}

func TestChannelSharedSecretVector(t *testing.T) {
	t.Parallel()
	// Computed with the pusher npm server SDK (5.3.4):
	// new Pusher({…, encryptionMasterKeyBase64: "AAECAw…Hh8="})
	//   .authorizeChannel("123.456", "private-encrypted-orders").shared_secret
	const want = "Rp+JW0P1Y4Dbn8NPhcFo88FAzz3QPb3PZ646obzmrp4="
	s := broadcast.ChannelSharedSecret("private-encrypted-orders", testMasterKey)
	if got := base64.StdEncoding.EncodeToString(s[:]); got != want {
		t.Fatalf("shared secret = %s, want %s", got, want)
	}
	b, _ := encryptedBroadcaster(t)
	got, err := b.SharedSecret("private-encrypted-orders")
	if err != nil || base64.StdEncoding.EncodeToString(got) != want {
		t.Fatalf("SharedSecret = %x, %v", got, err)
	}
	if _, err := b.SharedSecret("private-orders"); !errors.Is(err, broadcast.ErrInvalidChannel) {
		t.Fatalf("SharedSecret of a private channel: %v, want ErrInvalidChannel", err)
	}
}

// open decrypts the data of a message to an encrypted channel as pusher-js
// does.
func open(t *testing.T, channel string, data []byte) []byte {
	t.Helper()
	var p struct {
		Nonce      string `json:"nonce"`
		Ciphertext string `json:"ciphertext"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("data %s: %v", data, err)
	}
	nonce, err := base64.StdEncoding.DecodeString(p.Nonce)
	if err != nil || len(nonce) != 24 {
		t.Fatalf("nonce %q: %d bytes, %v", p.Nonce, len(nonce), err)
	}
	box, err := base64.StdEncoding.DecodeString(p.Ciphertext)
	if err != nil {
		t.Fatalf("ciphertext %q: %v", p.Ciphertext, err)
	}
	key := broadcast.ChannelSharedSecret(channel, testMasterKey)
	plain, ok := secretbox.Open(nil, box, (*[24]byte)(nonce), &key)
	if !ok {
		t.Fatalf("secretbox.Open failed for %s", data)
	}
	return plain
}

type invoiceEvent struct {
	ID int `json:"id"`
}

func (invoiceEvent) BroadcastOn() []string { return []string{"private-encrypted-invoices"} }

func TestEmitEncrypts(t *testing.T) {
	t.Parallel()
	b, d := encryptedBroadcaster(t)
	const ch = "private-encrypted-orders"
	if err := b.Private("encrypted-orders").Emit("OrderShipped", map[string]any{"order_id": 7}); err != nil {
		t.Fatal(err)
	}
	if err := b.Private("encrypted-orders").Emit("OrderShipped", map[string]any{"order_id": 7}); err != nil {
		t.Fatal(err)
	}
	if err := b.Dispatch(invoiceEvent{ID: 3}); err != nil {
		t.Fatal(err)
	}
	msgs := d.all()
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	if msgs[0].Channels[0] != ch || string(msgs[0].Data) == string(msgs[1].Data) {
		t.Fatalf("two emits of the same payload must differ (fresh nonce): %s", msgs[0].Data)
	}
	for _, m := range msgs[:2] {
		if got := string(open(t, ch, m.Data)); got != `{"order_id":7}` {
			t.Fatalf("decrypted %s", got)
		}
	}
	if got := string(open(t, "private-encrypted-invoices", msgs[2].Data)); got != `{"id":3}` {
		t.Fatalf("decrypted dispatch %s", got)
	}
}

func TestEncryptedRefusals(t *testing.T) {
	t.Parallel()
	b, d := encryptedBroadcaster(t)
	cases := []struct {
		name string
		err  error
		run  func() error
	}{
		{"two encrypted channels", broadcast.ErrEncryptedChannels, func() error {
			return b.Private("encrypted-a", "encrypted-b").Emit("E", 1)
		}},
		{"encrypted and plain", broadcast.ErrEncryptedChannels, func() error {
			return b.Channel("news", "private-encrypted-a").Emit("E", 1)
		}},
		{"publish to several", broadcast.ErrEncryptedChannels, func() error {
			return b.Publish(context.Background(), &broadcast.Message{Channels: []string{"private-encrypted-a", "news"}, Event: "E", Data: json.RawMessage(`{"nonce":"a","ciphertext":"b"}`)})
		}},
		{"publish plaintext", broadcast.ErrNotEncrypted, func() error {
			return b.Publish(context.Background(), &broadcast.Message{Channels: []string{"private-encrypted-a"}, Event: "E", Data: json.RawMessage(`{"secret":1}`)})
		}},
		{"no master key", broadcast.ErrNoMasterKey, func() error {
			return broadcast.New(&messages{}).Private("encrypted-a").Emit("E", 1)
		}},
		{"no master key, authorize", broadcast.ErrNoMasterKey, func() error {
			nb := broadcast.New(&messages{})
			nb.SetAuthorizer(func(string, any) bool { return true })
			return nb.AuthorizeChannel(context.Background(), "private-encrypted-a", "u1")
		}},
		{"short master key", broadcast.ErrInvalidMasterKey, func() error {
			return broadcast.New(nil).SetEncryptionMasterKey(make([]byte, 16))
		}},
	}
	for _, c := range cases {
		if err := c.run(); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	if n := len(d.all()); n != 0 {
		t.Fatalf("%d messages published, want none", n)
	}
	// An already encrypted payload is passed through as given.
	sealed := json.RawMessage(`{"nonce":"bm9uY2U=","ciphertext":"Ym94"}`)
	if err := b.Publish(context.Background(), &broadcast.Message{Channels: []string{"private-encrypted-a"}, Event: "E", Data: sealed}); err != nil {
		t.Fatal(err)
	}
	if got := d.all(); len(got) != 1 || string(got[0].Data) != string(sealed) {
		t.Fatalf("passed through %+v", got)
	}
	// With a key, authorization of an encrypted channel consults the hooks.
	b.SetAuthorizer(func(string, any) bool { return true })
	if err := b.AuthorizeChannel(context.Background(), "private-encrypted-a", "u1"); err != nil {
		t.Fatal(err)
	}
}
