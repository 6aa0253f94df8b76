package broadcast

import (
	"context"
	"strings"
	"testing"
)

// FuzzChannelRoute: any pattern either compiles or is refused, matching
// never panics, and a compiled pattern whose segments are all literal
// matches exactly its own text.
func FuzzChannelRoute(f *testing.F) {
	for _, s := range [][2]string{
		{"user.{id}", "user.42"}, {"chat.{room}.{x}", "chat.1.2"}, {"orders", "orders"},
		{"a.{}", "a.b"}, {"{a}{b}", "x"}, {"..", "."}, {"user.{id", "user.1"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		r, err := compileRoute(pattern, func(context.Context, any, map[string]string) (bool, error) { return true, nil })
		if err != nil {
			return
		}
		params, ok := r.match(name)
		if ok {
			for k, v := range params {
				if v == "" || strings.Contains(v, ".") || !strings.Contains(pattern, "{"+k+"}") {
					t.Fatalf("%q matched %q with %s=%q", pattern, name, k, v)
				}
			}
		}
		if !strings.Contains(pattern, "{") {
			if _, self := r.match(pattern); !self {
				t.Fatalf("literal pattern %q does not match itself", pattern)
			}
			if ok && name != pattern {
				t.Fatalf("literal pattern %q matched %q", pattern, name)
			}
		}
	})
}
