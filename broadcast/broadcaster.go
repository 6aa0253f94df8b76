package broadcast

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/velocitykode/velocity/internal/logflood"
)

// DefaultAuthTimeout bounds one authorizer or presence-data callback.
const DefaultAuthTimeout = 5 * time.Second

// Broadcaster emits events through a Driver and holds the authorization
// and presence hooks that the connection-serving drivers consult. Build one
// with New; the zero value is not usable.
type Broadcaster struct {
	driver atomic.Pointer[driverBox]
	auth   authHooks
	// unbound is set while the driver serves connections but kept the
	// hooks of another broadcaster; warned tells hooksChanged it said so.
	unbound, warned atomic.Bool

	masterKey atomic.Pointer[[MasterKeySize]byte]
	history   []HistoryRule // from WithHistory, handed to every driver set

	hooks hookSet

	authTimeout time.Duration
	logger      *slog.Logger
}

type driverBox struct {
	d   Driver
	pub Publisher // d as a Publisher, or nil
}

// Option configures a Broadcaster.
type Option func(*Broadcaster)

// WithAuthTimeout bounds each authorizer and presence-data callback
// (default DefaultAuthTimeout). A callback that overruns fails its
// subscription with ErrForbidden.
func WithAuthTimeout(d time.Duration) Option {
	return func(b *Broadcaster) {
		if d > 0 {
			b.authTimeout = d
		}
	}
}

// WithLogger sets the logger for callback panics and driver errors
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(b *Broadcaster) {
		if l != nil {
			b.logger = l
		}
	}
}

// New returns a Broadcaster that emits through driver. If driver serves
// connections (it implements AuthorizerBinder), it is bound to the new
// broadcaster so that subscriptions consult its authorizer and presence
// hooks, unless another broadcaster was bound to it first.
func New(driver Driver, opts ...Option) *Broadcaster {
	b := &Broadcaster{authTimeout: DefaultAuthTimeout, logger: slog.Default()}
	b.hooks.size, b.hooks.timeout = DefaultHookQueue, DefaultHookTimeout
	for _, o := range opts {
		o(b)
	}
	b.logger = logflood.Logger(b.logger)
	if driver != nil {
		b.SetDriver(driver)
	}
	return b
}

// SetDriver replaces the driver. Hooks already set are kept, which is how
// plugin.New equips Default() after init functions registered authorizers.
func (b *Broadcaster) SetDriver(d Driver) {
	box := &driverBox{d: d}
	box.pub, _ = d.(Publisher)
	b.driver.Store(box)
	b.unbound.Store(false)
	b.applyHistory(d)
	switch binder := d.(type) {
	case AuthorizerBinder:
		b.unbound.Store(!binder.BindAuthorizer(b))
	case Binder:
		binder.Bind(b)
	}
	b.hooksChanged()
}

// hooksChanged warns once when hooks are set on a broadcaster whose
// driver consults another broadcaster's hooks.
func (b *Broadcaster) hooksChanged() {
	if !b.unbound.Load() || !b.hasHooks() || b.warned.Swap(true) {
		return
	}
	b.logger.Warn("broadcast: this broadcaster's authorization hooks are not used: its driver is bound to another broadcaster, whose hooks decide subscriptions")
}

func (b *Broadcaster) hasHooks() bool {
	b.auth.mu.RLock()
	defer b.auth.mu.RUnlock()
	return b.auth.authorizer != nil || b.auth.presence != nil || len(b.auth.routes) > 0
}

// Members returns the members of a presence channel ("presence-" is
// prepended when missing), sorted by user id: the whole cluster's with the
// Redis driver. It fails with ErrNoPresence when the driver keeps no
// presence (the log and null drivers, or a custom driver without
// MemberLister).
func (b *Broadcaster) Members(ctx context.Context, channel string) ([]Member, error) {
	if !strings.HasPrefix(channel, PresencePrefix) {
		channel = PresencePrefix + channel
	}
	if err := ValidateChannel(channel); err != nil {
		return nil, err
	}
	box := b.driver.Load()
	if box == nil {
		return nil, ErrNotConfigured
	}
	ml, ok := box.d.(MemberLister)
	if !ok {
		return nil, fmt.Errorf("%w (%T)", ErrNoPresence, box.d)
	}
	return ml.Members(ctx, channel)
}

// Driver returns the current driver, or nil.
func (b *Broadcaster) Driver() Driver {
	if box := b.driver.Load(); box != nil {
		return box.d
	}
	return nil
}

// Logger returns the broadcaster's logger.
func (b *Broadcaster) Logger() *slog.Logger { return b.logger }

// Channel starts a broadcast to the public channels named.
func (b *Broadcaster) Channel(names ...string) *PendingBroadcast {
	return b.pending(names, "")
}

// Private starts a broadcast to private channels; "private-" is prepended
// to each name that lacks it.
func (b *Broadcaster) Private(names ...string) *PendingBroadcast {
	return b.pending(names, PrivatePrefix)
}

// Presence starts a broadcast to presence channels; "presence-" is
// prepended to each name that lacks it.
func (b *Broadcaster) Presence(names ...string) *PendingBroadcast {
	return b.pending(names, PresencePrefix)
}

// GetClients returns the socket ids subscribed to channel, as the driver
// sees them (the whole cluster for the Redis driver).
func (b *Broadcaster) GetClients(channel string) []string {
	box := b.driver.Load()
	if box == nil {
		return nil
	}
	return box.d.GetClients(channel)
}

// Publish validates m (a valid, unreserved event name, valid channels,
// data that is valid UTF-8, a valid conflation key) and hands it to the
// driver; a driver that is not a Publisher gets no conflation key. It is the one path
// every emit, dispatch and HTTP-API publish takes.
//
// Publish sends Data as given: it never encrypts. A message to an
// encrypted channel must go to that channel only (else
// ErrEncryptedChannels) and carry an already encrypted payload
// ({"nonce":…,"ciphertext":…}, else ErrNotEncrypted), as the Pusher
// SDKs publish it; Emit and Dispatch encrypt for it.
func (b *Broadcaster) Publish(ctx context.Context, m *Message) error {
	if err := ValidateEvent(m.Event); err != nil {
		return err
	}
	if len(m.Channels) == 0 {
		return ErrNoChannels
	}
	if len(m.Conflate) > MaxConflateKeyLength || !utf8.ValidString(m.Conflate) {
		return fmt.Errorf("emit %q: %w: %d bytes, at most %d of UTF-8", m.Event, ErrInvalidConflateKey, len(m.Conflate), MaxConflateKeyLength)
	}
	if !utf8.Valid(m.Data) {
		return fmt.Errorf("emit %q: %w: data is not valid UTF-8", m.Event, ErrEncode)
	}
	for _, ch := range m.Channels {
		if err := ValidateChannel(ch); err != nil {
			return fmt.Errorf("emit %q: %w", m.Event, err)
		}
	}
	if enc, err := checkEncrypted(m.Channels); err != nil {
		return fmt.Errorf("emit %q: %w", m.Event, err)
	} else if enc {
		if err := checkSealed(m.Channels[0], m.Data); err != nil {
			return fmt.Errorf("emit %q: %w", m.Event, err)
		}
	}
	box := b.driver.Load()
	if box == nil {
		return ErrNotConfigured
	}
	if box.pub != nil {
		return box.pub.Publish(ctx, m)
	}
	if m.Except != "" {
		return box.d.BroadcastExcept(m.Channels, m.Event, m.Data, m.Except)
	}
	return box.d.Broadcast(m.Channels, m.Event, m.Data)
}

// emit encodes data into m, encrypts it for an encrypted channel, and
// publishes it.
func (b *Broadcaster) emit(ctx context.Context, m *Message, data any) error {
	if err := ValidateEvent(m.Event); err != nil {
		return err
	}
	raw, err := encode(data)
	if err != nil {
		return fmt.Errorf("emit %q: %w", m.Event, err)
	}
	enc, err := checkEncrypted(m.Channels)
	if err != nil {
		return fmt.Errorf("emit %q: %w", m.Event, err)
	}
	if enc {
		if raw, err = b.seal(m.Channels[0], raw); err != nil {
			return fmt.Errorf("emit %q: %w", m.Event, err)
		}
	}
	m.Data = raw
	return b.Publish(ctx, m)
}

// encode returns data as JSON. A json.RawMessage is checked, not
// re-encoded (it must not be modified after Emit).
func encode(data any) (json.RawMessage, error) {
	if raw, ok := data.(json.RawMessage); ok && raw != nil {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("%w: json.RawMessage is not valid JSON", ErrEncode)
		}
		if !utf8.Valid(raw) {
			// json.Valid accepts invalid UTF-8 inside strings; a frame
			// carrying it would make every compliant client drop.
			return nil, fmt.Errorf("%w: json.RawMessage is not valid UTF-8", ErrEncode)
		}
		return raw, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	return raw, nil
}
