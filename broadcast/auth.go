package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
)

// ChannelAuthFunc authorizes a user on a channel route registered with
// Authorize; params holds the route's {placeholders}.
type ChannelAuthFunc func(user any, params map[string]string) (bool, error)

// ChannelAuthContextFunc is ChannelAuthFunc with the context of the
// subscription: it is done when the auth timeout passes or the client
// goes away.
type ChannelAuthContextFunc func(ctx context.Context, user any, params map[string]string) (bool, error)

// AuthorizerFunc decides the private and presence channels that no
// channel route matches. channel is the full name, with its prefix.
type AuthorizerFunc func(ctx context.Context, channel string, user any) (bool, error)

// PresenceDataFunc returns a user's member info on a presence channel
// (sent to the other members as user_info).
type PresenceDataFunc func(ctx context.Context, channel string, user any) (any, error)

// Member is one user of a presence channel as clients see it.
type Member struct {
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

type authHooks struct {
	mu         sync.RWMutex
	authorizer AuthorizerFunc
	presence   PresenceDataFunc
	routes     []channelRoute
}

// SetAuthorizer sets the authorizer in its simple form: it receives the
// full channel name (with its private- or presence- prefix) and the
// connection's user, and decides channels that no Authorize route
// matches. Without any hook, every private and presence subscription is
// refused. SetAuthorizerContext is the same with a context and an error.
func (b *Broadcaster) SetAuthorizer(fn func(channel string, user interface{}) bool) {
	if fn == nil {
		b.SetAuthorizerContext(nil)
		return
	}
	b.SetAuthorizerContext(func(_ context.Context, channel string, user any) (bool, error) {
		return fn(channel, user), nil
	})
}

// SetAuthorizerContext sets the authorizer of channels that no Authorize
// route matches. An error refuses the subscription like false does, and
// is logged.
func (b *Broadcaster) SetAuthorizerContext(fn AuthorizerFunc) {
	b.auth.mu.Lock()
	b.auth.authorizer = fn
	b.auth.mu.Unlock()
	b.hooksChanged()
}

// SetPresenceData sets, in its simple form, the function that returns a
// user's member info on a presence channel (sent to the other members as
// user_info).
func (b *Broadcaster) SetPresenceData(fn func(channel string, user interface{}) interface{}) {
	if fn == nil {
		b.SetPresenceDataContext(nil)
		return
	}
	b.SetPresenceDataContext(func(_ context.Context, channel string, user any) (any, error) {
		return fn(channel, user), nil
	})
}

// SetPresenceDataContext sets the function that returns a user's member
// info on a presence channel. An error refuses the subscription.
func (b *Broadcaster) SetPresenceDataContext(fn PresenceDataFunc) {
	b.auth.mu.Lock()
	b.auth.presence = fn
	b.auth.mu.Unlock()
	b.hooksChanged()
}

// Authorize registers a channel route in the Laravel style. pattern is
// matched against the channel name without its private-, private-encrypted-
// or presence- prefix; each {name} matches one dot-free segment and is
// passed to fn in params. Routes are tried in registration order and the
// first match decides. Authorize panics on a malformed pattern, as route
// registration is start-up code.
func (b *Broadcaster) Authorize(pattern string, fn ChannelAuthFunc) {
	var cfn ChannelAuthContextFunc
	if fn != nil {
		cfn = func(_ context.Context, user any, params map[string]string) (bool, error) { return fn(user, params) }
	}
	b.AuthorizeContext(pattern, cfn)
}

// AuthorizeContext is Authorize with a callback that takes the
// subscription's context.
func (b *Broadcaster) AuthorizeContext(pattern string, fn ChannelAuthContextFunc) {
	r, err := compileRoute(pattern, fn)
	if err != nil {
		panic(err)
	}
	b.auth.mu.Lock()
	b.auth.routes = append(b.auth.routes, r)
	b.auth.mu.Unlock()
	b.hooksChanged()
}

// AuthorizeChannel decides whether user may subscribe to channel. Public
// channels are always allowed. For private and presence channels it
// returns nil, or an error wrapping ErrUnauthenticated (no user) or
// ErrForbidden (refused, no hook allowed it, the hook failed, panicked or
// overran the broadcaster's auth timeout). An encrypted channel while no
// encryption master key is set is refused with an error wrapping both
// ErrForbidden and ErrNoMasterKey, before any hook runs. Callbacks run
// without any lock of this package held.
func (b *Broadcaster) AuthorizeChannel(ctx context.Context, channel string, user any) error {
	if err := ValidateChannel(channel); err != nil {
		return err
	}
	if !RequiresAuth(channel) {
		return nil
	}
	if IsEncrypted(channel) && b.masterKey.Load() == nil {
		return fmt.Errorf("subscribe %q: %w: %w", channel, ErrForbidden, ErrNoMasterKey)
	}
	if user == nil {
		return fmt.Errorf("subscribe %q: %w", channel, ErrUnauthenticated)
	}
	b.auth.mu.RLock()
	routes, authorizer := b.auth.routes, b.auth.authorizer
	b.auth.mu.RUnlock()

	name := stripPrefix(channel)
	var decide func(context.Context) (bool, error)
	for _, r := range routes {
		if params, ok := r.match(name); ok {
			fn := r.fn
			decide = func(ctx context.Context) (bool, error) { return fn(ctx, user, params) }
			break
		}
	}
	if decide == nil && authorizer != nil {
		decide = func(ctx context.Context) (bool, error) { return authorizer(ctx, channel, user) }
	}
	if decide == nil {
		return fmt.Errorf("subscribe %q: %w: no authorizer matches", channel, ErrForbidden)
	}
	var ok bool
	err := b.callback(ctx, "authorizer", channel, func(ctx context.Context) error {
		var err error
		ok, err = decide(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("subscribe %q: %w: %v", channel, ErrForbidden, err)
	}
	if !ok {
		return fmt.Errorf("subscribe %q: %w", channel, ErrForbidden)
	}
	return nil
}

// PresenceMember returns user's member entry on a presence channel: the
// user id from the user value (see UserID) and the info from the
// SetPresenceData hook. It fails when no user id can be found.
func (b *Broadcaster) PresenceMember(ctx context.Context, channel string, user any) (Member, error) {
	b.auth.mu.RLock()
	fn := b.auth.presence
	b.auth.mu.RUnlock()
	var info any
	if fn != nil {
		if err := b.callback(ctx, "presence data", channel, func(ctx context.Context) error {
			var err error
			info, err = fn(ctx, channel, user)
			return err
		}); err != nil {
			return Member{}, fmt.Errorf("presence %q: %w", channel, err)
		}
	}
	id := UserID(user)
	if id == "" {
		if m, ok := info.(map[string]interface{}); ok && m["id"] != nil {
			id = fmt.Sprint(m["id"])
		}
	}
	if id == "" {
		return Member{}, fmt.Errorf("presence %q: %w: user has no id", channel, ErrUnauthenticated)
	}
	m := Member{UserID: id}
	if info != nil {
		raw, err := encode(info)
		if err != nil {
			return Member{}, fmt.Errorf("presence %q: %w", channel, err)
		}
		m.UserInfo = raw
	}
	return m, nil
}

// UserID returns the stable id of a user value: the result of its
// GetAuthIdentifier method (string, int, int64 or any, formatted
// with fmt), or the value itself when it is a string. It returns "" when
// none applies.
func UserID(user any) string {
	switch u := user.(type) {
	case nil:
		return ""
	case string:
		return u
	case interface{ GetAuthIdentifier() string }:
		return u.GetAuthIdentifier()
	case interface{ GetAuthIdentifier() int }:
		return fmt.Sprint(u.GetAuthIdentifier())
	case interface{ GetAuthIdentifier() int64 }:
		return fmt.Sprint(u.GetAuthIdentifier())
	case interface{ GetAuthIdentifier() any }:
		if v := u.GetAuthIdentifier(); v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}

var errCallbackTimeout = errors.New("callback timed out")

// callback runs fn in its own goroutine, bounded by ctx and the auth
// timeout, turning a panic into an error. fn gets a context that is done
// when the timeout passes, so a callback that honours it ends then; one
// that does not keeps its goroutine until it returns, and its result is
// dropped.
func (b *Broadcaster) callback(ctx context.Context, what, channel string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.authTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				b.logger.Error("broadcast: callback panicked", "callback", what, "channel", channel, "panic", p, "stack", string(debug.Stack()))
				done <- fmt.Errorf("%s panicked: %v", what, p)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		b.logger.Warn("broadcast: callback overran", "callback", what, "channel", channel, "timeout", b.authTimeout)
		return fmt.Errorf("%s: %w", what, errCallbackTimeout)
	}
}

func stripPrefix(channel string) string {
	for _, p := range []string{PrivateEncryptedPrefix, PrivatePrefix, PresencePrefix} {
		if strings.HasPrefix(channel, p) {
			return channel[len(p):]
		}
	}
	return channel
}

// channelRoute is a compiled Authorize pattern: literal segments and
// {param} segments separated by dots.
type channelRoute struct {
	pattern string
	parts   []string // literal, or "{name}"
	fn      ChannelAuthContextFunc
}

func compileRoute(pattern string, fn ChannelAuthContextFunc) (channelRoute, error) {
	if fn == nil {
		return channelRoute{}, fmt.Errorf("broadcast: Authorize(%q): nil callback", pattern)
	}
	if pattern == "" {
		return channelRoute{}, fmt.Errorf("broadcast: Authorize: empty pattern")
	}
	parts := strings.Split(pattern, ".")
	for _, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && len(p) > 2 {
			if strings.ContainsAny(p[1:len(p)-1], "{}") {
				return channelRoute{}, fmt.Errorf("broadcast: Authorize(%q): bad placeholder %q", pattern, p)
			}
			continue
		}
		if p == "" || strings.ContainsAny(p, "{}") {
			return channelRoute{}, fmt.Errorf("broadcast: Authorize(%q): bad segment %q", pattern, p)
		}
		if err := ValidateChannel(p); err != nil {
			return channelRoute{}, fmt.Errorf("broadcast: Authorize(%q): %w", pattern, err)
		}
	}
	return channelRoute{pattern: pattern, parts: parts, fn: fn}, nil
}

func (r channelRoute) match(name string) (map[string]string, bool) {
	var params map[string]string
	rest := name
	for i, p := range r.parts {
		seg := rest
		if i < len(r.parts)-1 {
			dot := strings.IndexByte(rest, '.')
			if dot < 0 {
				return nil, false
			}
			seg, rest = rest[:dot], rest[dot+1:]
		} else if strings.IndexByte(rest, '.') >= 0 {
			return nil, false
		}
		if p[0] == '{' {
			if seg == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[p[1:len(p)-1]] = seg
		} else if seg != p {
			return nil, false
		}
	}
	return params, true
}
