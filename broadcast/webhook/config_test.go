package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	ok := Endpoint{URL: "https://a.example/hook"}
	cases := []struct {
		name    string
		cfg     Config
		want    error
		mention string
	}{
		{"ftp", Config{Endpoints: []Endpoint{{URL: "ftp://a.example/hook"}}}, ErrInvalidURL, "ftp://a.example/hook"},
		{"relative", Config{Endpoints: []Endpoint{{URL: "/hook"}}}, ErrInvalidURL, "/hook"},
		{"no scheme", Config{Endpoints: []Endpoint{{URL: "a.example/hook"}}}, ErrInvalidURL, "a.example/hook"},
		{"empty", Config{Endpoints: []Endpoint{{URL: ""}}}, ErrInvalidURL, "empty"},
		{"no host", Config{Endpoints: []Endpoint{{URL: "http:///hook"}}}, ErrInvalidURL, "http:///hook"},
		{"opaque", Config{Endpoints: []Endpoint{{URL: "https:a.example"}}}, ErrInvalidURL, "https:a.example"},
		{"unparsable", Config{Endpoints: []Endpoint{{URL: "http://a b/"}}}, ErrInvalidURL, "http://a b/"},
		{"password of unparsable", Config{Endpoints: []Endpoint{{URL: "http://u:hunter2@a b/"}}}, ErrInvalidURL, "http://xxxxx@a b/"},
		{"password redacted", Config{Endpoints: []Endpoint{{URL: "ws://u:hunter2@a.example/"}}}, ErrInvalidURL, "ws://u:xxxxx@a.example/"},
		{"unknown event", Config{Endpoints: []Endpoint{{URL: ok.URL, Events: []string{"channel_occupied", "pusher:member_added"}}}}, ErrUnknownEvent, "pusher:member_added"},
		{"duplicate", Config{Endpoints: []Endpoint{ok, ok}}, ErrInvalidConfig, ok.URL},
		{"negative timeout", Config{Endpoints: []Endpoint{ok}, Timeout: -time.Second}, ErrInvalidConfig, "Timeout"},
		{"negative queue", Config{Endpoints: []Endpoint{ok}, QueueSize: -1}, ErrInvalidConfig, "QueueSize"},
		{"tiny body", Config{Endpoints: []Endpoint{ok}, MaxBodyBytes: 10}, ErrInvalidConfig, "MaxBodyBytes"},
		{"too many", Config{Endpoints: manyEndpoints(MaxEndpoints + 1)}, ErrInvalidConfig, "endpoints"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.cfg.AppKey, c.cfg.AppSecret = testKey, testSecret
			s, err := New(c.cfg)
			if !errors.Is(err, c.want) {
				if s != nil {
					_ = s.Close(t.Context())
				}
				t.Fatalf("New = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", err, c.mention)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	if _, err := New(Config{AppKey: testKey, Endpoints: []Endpoint{ok}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no secret: %v", err)
	}
}

func manyEndpoints(n int) []Endpoint {
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i].URL = "https://a.example/" + strings.Repeat("x", i+1)
	}
	return eps
}

func TestNewAcceptsHTTPAndHTTPS(t *testing.T) {
	t.Parallel()
	s := newSender(t, Config{Endpoints: []Endpoint{
		{URL: "http://127.0.0.1:1/hook"}, {URL: "HTTPS://Example.com/hook?x=1", Events: []string{NameCacheMiss}},
	}})
	if n := len(s.Stats().Endpoints); n != 2 {
		t.Errorf("%d endpoints", n)
	}
}
