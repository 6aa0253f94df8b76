package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenLookup: any lookup string compiles or is refused, and the
// compiled extractors never panic on hostile headers, queries and cookies;
// a token they find is never empty and never carries surrounding spaces.
func FuzzTokenLookup(f *testing.F) {
	f.Add(DefaultTokenLookup, "Bearer abc", "token=x", "token=y")
	f.Add("header:X-Token:Token ,query:t", "token  ", "t=%zz", "")
	f.Add("cookie:", "", "", "a=b; token")
	f.Fuzz(func(t *testing.T, lookup, auth, query, cookie string) {
		ex, err := parseTokenLookup(lookup)
		if err != nil {
			ex = defaultExtractors()
		}
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Token", auth)
		r.Header.Set("Cookie", cookie)
		for _, e := range ex {
			if tok, ok := e(r); ok && (tok == "" || strings.TrimSpace(tok) != tok) {
				t.Fatalf("lookup %q found %q", lookup, tok)
			}
		}
		_ = HasToken(r)
	})
}
