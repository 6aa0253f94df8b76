package natsbroker

import (
	"strings"
	"testing"
)

// validToken reports whether s is one literal NATS subject token of the
// characters the mapping promises.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func TestChannelSubjects(t *testing.T) {
	t.Parallel()
	s := newSubjects("velocity")
	names := []string{"orders", "a.b", "a*", ">", "a b", "a\tb", "private-é", "x", "", "orders.>", "$SYS.>", "_INBOX.x"}
	seen := map[string]string{}
	for _, name := range names {
		subj := s.channel(name)
		token, ok := strings.CutPrefix(subj, "velocity.c.")
		if !ok || !validToken(token) {
			t.Fatalf("channel %q: subject %q is not one safe token under the prefix", name, subj)
		}
		if other, dup := seen[subj]; dup {
			t.Fatalf("channels %q and %q share subject %q", name, other, subj)
		}
		seen[subj] = name
		back, err := s.parse(subj)
		if err != nil || back != name {
			t.Fatalf("parse(%q) = %q, %v; want %q", subj, back, err, name)
		}
	}
	for _, bad := range []string{"velocity.c.", "velocity.c.y", "velocity.c.x!", "other.c.xYQ", "velocity.c.xYR"} {
		if ch, err := s.parse(bad); err == nil {
			t.Errorf("parse(%q) = %q, want an error", bad, ch)
		}
	}
}

// FuzzChannelToken checks that the mapping is injective (it round-trips
// and decoding accepts one token per name) and never yields characters
// NATS treats specially.
func FuzzChannelToken(f *testing.F) {
	for _, s := range []string{"", "a.b", "*", ">", " ", "presence-room", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		token := channelToken(name)
		if !validToken(token) {
			t.Fatalf("token %q of %q", token, name)
		}
		back, err := tokenChannel(token)
		if err != nil || back != name {
			t.Fatalf("tokenChannel(%q) = %q, %v; want %q", token, back, err, name)
		}
		// Any token that decodes is the token of what it decodes to.
		if ch, err := tokenChannel(name); err == nil && channelToken(ch) != name {
			t.Fatalf("%q decodes to %q, whose token is %q", name, ch, channelToken(ch))
		}
	})
}
