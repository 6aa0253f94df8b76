package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultBatchWindow  = 250 * time.Millisecond
	DefaultMaxBatch     = 100
	DefaultMaxBodyBytes = 256 << 10
	DefaultQueueSize    = 10_000
	DefaultQueueBytes   = 8 << 20
	DefaultTimeout      = 5 * time.Second
	DefaultMaxAttempts  = 5
	DefaultMaxAge       = 2 * time.Minute
	DefaultRetryBase    = 250 * time.Millisecond
	DefaultRetryMax     = 15 * time.Second
	DefaultLogInterval  = 10 * time.Second
	// MaxEndpoints bounds Config.Endpoints.
	MaxEndpoints = 64
)

// Endpoint is one receiver.
type Endpoint struct {
	// URL is an absolute http or https URL.
	URL string
	// Events lists the event names (Names) this receiver wants; empty
	// means all.
	Events []string
}

// Config configures a Sender. Zero durations and sizes take the Default*
// values; negative ones are refused.
type Config struct {
	// AppKey is sent as X-Pusher-Key; required.
	AppKey string
	// AppSecret is the HMAC-SHA256 key of X-Pusher-Signature; required.
	AppSecret string
	// Endpoints are the receivers, at most MaxEndpoints, no URL twice.
	Endpoints []Endpoint
	// BatchWindow is how long the first queued event waits for others
	// before a request is sent.
	BatchWindow time.Duration
	// MaxBatch bounds the events in one request.
	MaxBatch int
	// MaxBodyBytes bounds a request body; a single event that cannot fit
	// is dropped.
	MaxBodyBytes int
	// QueueSize bounds the events waiting per endpoint; when full, the
	// oldest are dropped.
	QueueSize int
	// QueueBytes bounds the encoded bytes waiting per endpoint; when
	// exceeded, the oldest events are dropped.
	QueueBytes int
	// Timeout bounds one request, from connecting to reading the status.
	Timeout time.Duration
	// MaxAttempts bounds the tries of one request (1 disables retries).
	MaxAttempts int
	// MaxAge stops retrying a request this long after its first try.
	MaxAge time.Duration
	// RetryBase is the backoff before the first retry; it doubles per
	// retry, up to RetryMax, with jitter.
	RetryBase time.Duration
	// RetryMax caps a backoff (and a Retry-After answer).
	RetryMax time.Duration
	// Client sends the requests (default: a client of its own that does
	// not follow redirects). Its Timeout, if any, applies on top of Timeout.
	Client *http.Client
	// Logger receives drop and failure reports (default slog.Default()).
	Logger *slog.Logger
	// LogInterval is the least time between two reports of the same kind
	// for one endpoint; what happens in between is summed up.
	LogInterval time.Duration
}

// endpointConf is a validated Endpoint.
type endpointConf struct {
	url    string // as configured
	shown  string // redacted, for logs and errors
	filter uint8  // bit per name; all bits when every event is wanted
}

const allNames = uint8(1<<7 - 1)

// withDefaults validates c and returns it with defaults filled in and the
// endpoints parsed.
func (c Config) withDefaults() (Config, []endpointConf, error) {
	if c.AppKey == "" || c.AppSecret == "" {
		return c, nil, fmt.Errorf("%w: app key and secret are required", ErrInvalidConfig)
	}
	if len(c.Endpoints) > MaxEndpoints {
		return c, nil, fmt.Errorf("%w: %d endpoints, at most %d", ErrInvalidConfig, len(c.Endpoints), MaxEndpoints)
	}
	eps := make([]endpointConf, 0, len(c.Endpoints))
	seen := make(map[string]bool, len(c.Endpoints))
	for _, e := range c.Endpoints {
		ep, err := parseEndpoint(e)
		if err != nil {
			return c, nil, err
		}
		if seen[ep.url] {
			return c, nil, fmt.Errorf("%w: endpoint %s listed twice", ErrInvalidConfig, ep.shown)
		}
		seen[ep.url] = true
		eps = append(eps, ep)
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"BatchWindow", &c.BatchWindow, DefaultBatchWindow},
		{"Timeout", &c.Timeout, DefaultTimeout},
		{"MaxAge", &c.MaxAge, DefaultMaxAge},
		{"RetryBase", &c.RetryBase, DefaultRetryBase},
		{"RetryMax", &c.RetryMax, DefaultRetryMax},
		{"LogInterval", &c.LogInterval, DefaultLogInterval},
	}
	for _, d := range durs {
		if *d.v < 0 {
			return c, nil, fmt.Errorf("%w: negative %s", ErrInvalidConfig, d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxBatch", &c.MaxBatch, DefaultMaxBatch},
		{"MaxBodyBytes", &c.MaxBodyBytes, DefaultMaxBodyBytes},
		{"QueueSize", &c.QueueSize, DefaultQueueSize},
		{"QueueBytes", &c.QueueBytes, DefaultQueueBytes},
		{"MaxAttempts", &c.MaxAttempts, DefaultMaxAttempts},
	}
	for _, n := range ints {
		if *n.v < 0 {
			return c, nil, fmt.Errorf("%w: negative %s", ErrInvalidConfig, n.name)
		}
		if *n.v == 0 {
			*n.v = n.def
		}
	}
	if c.MaxBodyBytes < bodyOverhead+64 {
		return c, nil, fmt.Errorf("%w: MaxBodyBytes %d below %d", ErrInvalidConfig, c.MaxBodyBytes, bodyOverhead+64)
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = c.RetryBase
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, eps, nil
}

// parseEndpoint validates one endpoint's URL and filter.
func parseEndpoint(e Endpoint) (endpointConf, error) {
	shown, err := checkURL(e.URL)
	if err != nil {
		return endpointConf{}, err
	}
	ep := endpointConf{url: e.URL, shown: shown}
	for _, name := range e.Events {
		bit, ok := nameBit(name)
		if !ok {
			return endpointConf{}, fmt.Errorf("%w %q in the filter of %s (known: %s)",
				ErrUnknownEvent, name, shown, strings.Join(Names, ", "))
		}
		ep.filter |= bit
	}
	if ep.filter == 0 {
		ep.filter = allNames
	}
	return ep, nil
}

// checkURL returns the redacted form of an absolute http(s) URL.
func checkURL(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: empty URL", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return "", fmt.Errorf("%w %q: %v", ErrInvalidURL, redactRaw(raw), err)
	}
	shown := u.Redacted()
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w %s: scheme must be http or https", ErrInvalidURL, shown)
	}
	if u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w %s: not an absolute URL with a host", ErrInvalidURL, shown)
	}
	return shown, nil
}

// redactRaw hides the user information of a URL that does not parse.
func redactRaw(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := strings.Index(raw, "://") + 3 // 2 without a scheme separator
	if start < 3 || start > at {
		start = 0
	}
	return raw[:start] + "xxxxx" + raw[at:]
}
