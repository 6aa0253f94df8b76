package webhook

import (
	"fmt"
	"strings"
)

// MaxSpecBytes bounds a spec string.
const MaxSpecBytes = 64 << 10

// ParseSpec parses an endpoint list in the form of BROADCAST_WEBHOOKS:
//
//	URL[|name+name…][,URL[|name+name…]]…
//
// Endpoints are separated by commas; a "|" after a URL starts its filter,
// event names (Names) joined by "+". Without a filter an endpoint gets
// every event. Spaces around items are ignored, as are empty items; an
// empty spec is no endpoint. A URL containing "," or "|" must
// percent-encode them (%2C, %7C). URLs and names are validated as New
// does (ErrInvalidURL, ErrUnknownEvent); a URL listed twice, an empty
// filter or a spec over MaxSpecBytes is ErrInvalidConfig.
//
//	https://a.example/hook,https://b.example/hook|channel_occupied+channel_vacated
func ParseSpec(spec string) ([]Endpoint, error) {
	if len(spec) > MaxSpecBytes {
		return nil, fmt.Errorf("%w: spec of %d bytes, at most %d", ErrInvalidConfig, len(spec), MaxSpecBytes)
	}
	var eps []Endpoint
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		rawURL, filter, hasFilter := strings.Cut(item, "|")
		ep := Endpoint{URL: strings.TrimSpace(rawURL)}
		if hasFilter {
			for name := range strings.SplitSeq(filter, "+") {
				if name = strings.TrimSpace(name); name != "" {
					ep.Events = append(ep.Events, name)
				}
			}
			if len(ep.Events) == 0 {
				return nil, fmt.Errorf("%w: empty filter after %q", ErrInvalidConfig, ep.URL)
			}
		}
		conf, err := parseEndpoint(ep)
		if err != nil {
			return nil, err
		}
		if seen[ep.URL] {
			return nil, fmt.Errorf("%w: endpoint %s listed twice", ErrInvalidConfig, conf.shown)
		}
		seen[ep.URL] = true
		if len(eps) == MaxEndpoints {
			return nil, fmt.Errorf("%w: more than %d endpoints", ErrInvalidConfig, MaxEndpoints)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// FormatSpec returns the spec string of endpoints, the inverse of
// ParseSpec for endpoints it returned.
func FormatSpec(endpoints []Endpoint) string {
	var b strings.Builder
	for i, ep := range endpoints {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ep.URL)
		if len(ep.Events) > 0 {
			b.WriteByte('|')
			b.WriteString(strings.Join(ep.Events, "+"))
		}
	}
	return b.String()
}
