package broadcast

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/crypto/nacl/secretbox"
)

// MasterKeySize is the length in bytes of an encryption master key.
const MasterKeySize = 32

// IsEncrypted reports whether the named channel is an end-to-end
// encrypted channel (private-encrypted-…).
func IsEncrypted(channel string) bool { return strings.HasPrefix(channel, PrivateEncryptedPrefix) }

// ChannelSharedSecret returns the key of an encrypted channel:
// SHA-256(channel ‖ masterKey), as the Pusher server SDKs derive it. The
// auth endpoint hands it to authorized subscribers (base64-encoded, as
// "shared_secret") and events to the channel are sealed with it.
func ChannelSharedSecret(channel string, masterKey []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// EncryptedPayload is the data of an event on an encrypted channel, as
// the Pusher SDKs publish and pusher-js decrypts it: a fresh 24-byte
// nonce and the NaCl secretbox of the JSON payload, both in standard
// base64.
type EncryptedPayload struct {
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// SetEncryptionMasterKey sets the master key of encrypted channels
// (MasterKeySize bytes; nil removes it). With a key, the auth endpoint
// answers private-encrypted- channels with their shared secret and Emit
// and Dispatch seal events to them; without one, both refuse them with
// ErrNoMasterKey. The key is copied.
func (b *Broadcaster) SetEncryptionMasterKey(key []byte) error {
	if key == nil {
		b.masterKey.Store(nil)
		return nil
	}
	if len(key) != MasterKeySize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidMasterKey, len(key), MasterKeySize)
	}
	k := new([MasterKeySize]byte)
	copy(k[:], key)
	b.masterKey.Store(k)
	return nil
}

// SharedSecret returns the shared secret of the encrypted channel
// (see ChannelSharedSecret). It fails with ErrNoMasterKey when no master
// key is set, and with ErrInvalidChannel for a channel that is not a
// valid private-encrypted- channel.
func (b *Broadcaster) SharedSecret(channel string) ([]byte, error) {
	if err := ValidateChannel(channel); err != nil {
		return nil, err
	}
	if !IsEncrypted(channel) {
		return nil, fmt.Errorf("%w: %q is not a %s channel", ErrInvalidChannel, truncate(channel), PrivateEncryptedPrefix)
	}
	k := b.masterKey.Load()
	if k == nil {
		return nil, fmt.Errorf("channel %q: %w", channel, ErrNoMasterKey)
	}
	s := ChannelSharedSecret(channel, k[:])
	return s[:], nil
}

// checkEncrypted refuses an event to an encrypted channel that also goes
// to other channels: each encrypted channel has its own key.
func checkEncrypted(channels []string) (encrypted bool, err error) {
	for _, ch := range channels {
		if IsEncrypted(ch) {
			encrypted = true
			break
		}
	}
	if encrypted && len(channels) > 1 {
		return true, fmt.Errorf("%w: %d channels", ErrEncryptedChannels, len(channels))
	}
	return encrypted, nil
}

// seal encrypts the JSON payload raw for the encrypted channel with a
// fresh random nonce and returns the EncryptedPayload as JSON.
func (b *Broadcaster) seal(channel string, raw []byte) (json.RawMessage, error) {
	secret, err := b.SharedSecret(channel)
	if err != nil {
		return nil, err
	}
	var key [32]byte
	copy(key[:], secret)
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("channel %q: nonce: %w", channel, err)
	}
	box := secretbox.Seal(nil, raw, &nonce, &key)
	out, err := json.Marshal(EncryptedPayload{
		Nonce:      base64.StdEncoding.EncodeToString(nonce[:]),
		Ciphertext: base64.StdEncoding.EncodeToString(box),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	return out, nil
}

// checkSealed refuses data to an encrypted channel that is not an
// EncryptedPayload, so that a plaintext event never goes out on a channel
// its subscribers believe end-to-end encrypted.
func checkSealed(channel string, data []byte) error {
	var p EncryptedPayload
	if err := json.Unmarshal(data, &p); err != nil || p.Nonce == "" || p.Ciphertext == "" {
		return fmt.Errorf("channel %q: %w", channel, ErrNotEncrypted)
	}
	return nil
}
