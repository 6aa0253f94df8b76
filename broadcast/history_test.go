package broadcast

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHistoryRuleMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"orders", "orders", true},
		{"orders", "orders.1", false},
		{"chat.*", "chat.lobby", true},
		{"chat.*", "chat.", true},
		{"chat.*", "chat", false},
		{"private-user.*", "private-user.42", true},
		{"private-user.*", "presence-user.42", false},
		{"*", "anything-at-all", true},
		{"*-cache-*", "private-cache-prices", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"**", "", true},
	}
	for _, tc := range cases {
		if got := (HistoryRule{Pattern: tc.pattern}).Match(tc.name); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestParseHistoryRules(t *testing.T) {
	t.Parallel()
	rules, err := ParseHistoryRules(" orders=100/10m ,, chat.*=50/24h")
	if err != nil || len(rules) != 2 || rules[1] != (HistoryRule{Pattern: "chat.*", Size: 50, TTL: 24 * time.Hour}) {
		t.Fatalf("%+v %v", rules, err)
	}
	for _, bad := range []string{"orders", "orders=10", "orders=x/1m", "orders=10/x", "=10/1m", "a b=1/1m", "o=0/1m", "o=1/1ms", "o=10001/1m",
		strings.Repeat("o=1/1m,", MaxHistoryRules+1)} {
		if _, err := ParseHistoryRules(bad); !errors.Is(err, ErrInvalidHistory) {
			t.Errorf("%.40q: %v, want ErrInvalidHistory", bad, err)
		}
	}
}

// FuzzParseHistoryRules: any input parses into valid rules or fails with
// ErrInvalidHistory; matching never panics.
func FuzzParseHistoryRules(f *testing.F) {
	f.Add("orders=100/10m,chat.*=50/24h")
	f.Add("*=1/1s")
	f.Add("a=b/c")
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseHistoryRules(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidHistory) {
				t.Fatalf("error %v does not wrap ErrInvalidHistory", err)
			}
			return
		}
		for _, r := range rules {
			if r.Validate() != nil {
				t.Fatalf("invalid rule accepted: %+v", r)
			}
			_ = r.Match(s)
		}
	})
}
