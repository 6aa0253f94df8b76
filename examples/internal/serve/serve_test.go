package serve

import "testing"

func TestLocalURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		":9000": "localhost:9000", "0.0.0.0:80": "localhost:80", "[::]:8080": "localhost:8080",
		"127.0.0.1:8080": "127.0.0.1:8080", "example.test:1": "example.test:1", "nonsense": "nonsense",
	} {
		if got := LocalURL(in); got != want {
			t.Errorf("LocalURL(%q) = %q, want %q", in, got, want)
		}
	}
}
