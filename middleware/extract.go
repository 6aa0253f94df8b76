package middleware

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// extractor pulls a token candidate out of a request.
type extractor func(r *http.Request) (string, bool)

// defaultExtractors are the extractors of DefaultTokenLookup.
var defaultExtractors = sync.OnceValue(func() []extractor {
	ex, err := parseTokenLookup(DefaultTokenLookup)
	if err != nil {
		panic(err)
	}
	return ex
})

// HasToken reports whether r carries a token where [DefaultTokenLookup]
// looks for one. Without any verification key, it tells an anonymous
// request from one whose credential cannot be checked
// ([ErrJWTNotConfigured]).
func HasToken(r *http.Request) bool {
	for _, ex := range defaultExtractors() {
		if _, ok := ex(r); ok {
			return true
		}
	}
	return false
}

// parseTokenLookup compiles a TokenLookup string into extractors, once, at
// configuration time.
func parseTokenLookup(lookup string) ([]extractor, error) {
	var out []extractor
	for _, entry := range strings.Split(lookup, ",") {
		parts := strings.SplitN(entry, ":", 3)
		source := strings.TrimSpace(parts[0])
		if len(parts) < 2 || strings.TrimSpace(parts[1]) == "" {
			return nil, fmt.Errorf("token lookup entry %q: want <source>:<name>[:<prefix>]", entry)
		}
		name := strings.TrimSpace(parts[1])
		if len(parts) == 3 && source != "header" {
			return nil, fmt.Errorf("token lookup entry %q: only header sources take a prefix", entry)
		}
		switch source {
		case "header":
			prefix := ""
			if len(parts) == 3 {
				prefix = parts[2]
			}
			out = append(out, headerExtractor(http.CanonicalHeaderKey(name), prefix))
		case "query":
			out = append(out, queryExtractor(name))
		case "cookie":
			out = append(out, cookieExtractor(name))
		default:
			return nil, fmt.Errorf("unknown token lookup source %q in %q (want header, query or cookie)", source, entry)
		}
	}
	return out, nil
}

func headerExtractor(name, prefix string) extractor {
	return func(r *http.Request) (string, bool) {
		for _, v := range r.Header.Values(name) {
			if prefix != "" {
				if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
					continue
				}
				v = v[len(prefix):]
			}
			if v = strings.TrimSpace(v); v != "" {
				return v, true
			}
		}
		return "", false
	}
}

func queryExtractor(name string) extractor {
	return func(r *http.Request) (string, bool) {
		if r.URL == nil {
			return "", false
		}
		v := strings.TrimSpace(r.URL.Query().Get(name))
		return v, v != ""
	}
}

func cookieExtractor(name string) extractor {
	return func(r *http.Request) (string, bool) {
		c, err := r.Cookie(name)
		if err != nil {
			return "", false
		}
		v := strings.TrimSpace(c.Value)
		return v, v != ""
	}
}
