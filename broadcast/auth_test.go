package broadcast_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

type user struct {
	ID   int
	Name string
}

func (u *user) GetAuthIdentifier() int { return u.ID }

func TestAuthorizeRoutes(t *testing.T) {
	t.Parallel()
	b := broadcast.New(&recorder{})
	if err := b.SetEncryptionMasterKey(testMasterKey); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	var mu sync.Mutex
	b.Authorize("orders.{orderID}", func(u any, p map[string]string) (bool, error) {
		mu.Lock()
		got = p
		mu.Unlock()
		return p["orderID"] == "7", nil
	})
	b.Authorize("user.{id}", func(u any, p map[string]string) (bool, error) {
		return strconv.Itoa(u.(*user).ID) == p["id"], nil
	})
	b.Authorize("chat.{room}.{lang}", func(any, map[string]string) (bool, error) { return true, nil })
	b.Authorize("broken", func(any, map[string]string) (bool, error) { return true, errors.New("db down") })
	// The simple authorizer decides what no route matches.
	b.SetAuthorizer(func(channel string, u interface{}) bool { return channel == "private-legacy" })

	alice := &user{ID: 1}
	cases := []struct {
		channel string
		user    any
		want    error
	}{
		{"orders", nil, nil}, // public
		{"private-orders.7", alice, nil},
		{"private-orders.8", alice, broadcast.ErrForbidden},
		{"presence-orders.7", alice, nil},
		{"private-encrypted-orders.7", alice, nil},
		{"private-orders.7.extra", alice, broadcast.ErrForbidden}, // {param} is one dot-free segment
		{"private-orders.", alice, broadcast.ErrForbidden},
		{"private-user.1", alice, nil},
		{"private-user.2", alice, broadcast.ErrForbidden},
		{"presence-chat.general.en", alice, nil},
		{"presence-chat.general", alice, broadcast.ErrForbidden},
		{"private-broken", alice, broadcast.ErrForbidden}, // callback error fails closed
		{"private-legacy", alice, nil},
		{"private-unknown", alice, broadcast.ErrForbidden}, // deny by default
		{"private-orders.7", nil, broadcast.ErrUnauthenticated},
		{"private-a b", alice, broadcast.ErrInvalidChannel},
	}
	for _, tc := range cases {
		err := b.AuthorizeChannel(context.Background(), tc.channel, tc.user)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("AuthorizeChannel(%q) = %v, want %v", tc.channel, err, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got["orderID"] != "7" {
		t.Errorf("route params = %v", got)
	}
}

func TestAuthorizeWithoutHooksDenies(t *testing.T) {
	t.Parallel()
	b := broadcast.New(&recorder{})
	if err := b.AuthorizeChannel(context.Background(), "private-x", &user{ID: 1}); !errors.Is(err, broadcast.ErrForbidden) {
		t.Fatalf("got %v, want ErrForbidden", err)
	}
}

func TestAuthorizerPanicsAndTimeouts(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	b := broadcast.New(&recorder{}, broadcast.WithAuthTimeout(50*time.Millisecond), broadcast.WithLogger(quiet))
	release := make(chan struct{})
	defer close(release)
	b.Authorize("panics", func(any, map[string]string) (bool, error) { panic("boom") })
	b.Authorize("slow", func(any, map[string]string) (bool, error) { <-release; return true, nil })
	for _, ch := range []string{"private-panics", "private-slow"} {
		if err := b.AuthorizeChannel(context.Background(), ch, "u"); !errors.Is(err, broadcast.ErrForbidden) {
			t.Errorf("%s: got %v, want ErrForbidden", ch, err)
		}
	}
}

func TestAuthorizePatternValidation(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "a..b", "a.{}", "a.{b", "a b", "x.{a}{b}"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Authorize(%q) did not panic", bad)
				}
			}()
			broadcast.New(nil).Authorize(bad, func(any, map[string]string) (bool, error) { return true, nil })
		}()
	}
}

func TestPresenceMember(t *testing.T) {
	t.Parallel()
	b := broadcast.New(&recorder{}, broadcast.WithLogger(slog.New(slog.DiscardHandler)))
	m, err := b.PresenceMember(context.Background(), "presence-room", &user{ID: 5})
	if err != nil || m.UserID != "5" || m.UserInfo != nil {
		t.Fatalf("without hook: %+v %v", m, err)
	}
	b.SetPresenceData(func(channel string, u interface{}) interface{} {
		return map[string]any{"name": u.(*user).Name, "channel": channel}
	})
	m, err = b.PresenceMember(context.Background(), "presence-room", &user{ID: 5, Name: "Ann"})
	if err != nil || m.UserID != "5" || string(m.UserInfo) != `{"channel":"presence-room","name":"Ann"}` {
		t.Fatalf("with hook: %+v %v", m, err)
	}
	// No id anywhere: refused.
	if _, err := broadcast.New(nil).PresenceMember(context.Background(), "presence-room", struct{}{}); !errors.Is(err, broadcast.ErrUnauthenticated) {
		t.Fatalf("no id: %v", err)
	}
}

type anyIDUser struct{ id any }

func (u anyIDUser) GetAuthIdentifier() any { return u.id }

type strIDUser string

func (u strIDUser) GetAuthIdentifier() string { return strings.ToUpper(string(u)) }

func TestUserID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user any
		want string
	}{
		{nil, ""}, {"alice", "alice"}, {&user{ID: 3}, "3"}, {anyIDUser{int64(9)}, "9"},
		{anyIDUser{nil}, ""}, {strIDUser("bob"), "BOB"}, {42, ""},
	} {
		if got := broadcast.UserID(tc.user); got != tc.want {
			t.Errorf("UserID(%v) = %q, want %q", tc.user, got, tc.want)
		}
	}
}
