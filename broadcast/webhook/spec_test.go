package webhook

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec string
		want []Endpoint
		err  error
	}{
		{"", nil, nil},
		{" , ", nil, nil},
		{"https://a.example/hook", []Endpoint{{URL: "https://a.example/hook"}}, nil},
		{"https://a.example/hook,https://b.example/hook|channel_occupied+channel_vacated", []Endpoint{
			{URL: "https://a.example/hook"},
			{URL: "https://b.example/hook", Events: []string{"channel_occupied", "channel_vacated"}},
		}, nil},
		{" http://a.example/h | member_added + member_removed ,", []Endpoint{
			{URL: "http://a.example/h", Events: []string{"member_added", "member_removed"}},
		}, nil},
		{"https://a.example/h?x=%2C%7C", []Endpoint{{URL: "https://a.example/h?x=%2C%7C"}}, nil},
		{"https://a.example/hook|", nil, ErrInvalidConfig},
		{"https://a.example/hook|channel_occupied+nope", nil, ErrUnknownEvent},
		{"https://a.example/hook|channel_occupied|channel_vacated", nil, ErrUnknownEvent},
		{"https://a.example/hook,https://a.example/hook", nil, ErrInvalidConfig},
		{"ftp://a.example/hook", nil, ErrInvalidURL},
		{"a.example/hook", nil, ErrInvalidURL},
		{"|channel_occupied", nil, ErrInvalidURL},
		{strings.Repeat("x", MaxSpecBytes+1), nil, ErrInvalidConfig},
	}
	for _, c := range cases {
		got, err := ParseSpec(c.spec)
		if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("ParseSpec(%.40q) error %v, want %v", c.spec, err, c.err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSpec(%.40q) = %+v, want %+v", c.spec, got, c.want)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"https://a.example/hook,https://b.example/hook|channel_occupied+channel_vacated",
		" http://a/h | member_added ,, https://b/x?y=1|client_event",
		"https://a.example/hook|", "ftp://x", "http://[::1]:80/|cache_miss+subscription_count",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		eps, err := ParseSpec(spec)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrUnknownEvent) && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if len(eps) > MaxEndpoints {
			t.Fatalf("%d endpoints", len(eps))
		}
		// What ParseSpec accepts, New accepts, and formatting round-trips.
		if _, _, err := (Config{AppKey: "k", AppSecret: "s", Endpoints: eps}).withDefaults(); err != nil {
			t.Fatalf("parsed %q but New refuses: %v", spec, err)
		}
		again, err := ParseSpec(FormatSpec(eps))
		if err != nil || !reflect.DeepEqual(again, eps) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", spec, again, err, eps)
		}
	})
}
