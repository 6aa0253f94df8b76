package webhook

import (
	"errors"
	"net/http"
	"testing"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"time_ms":1,"events":[{"name":"cache_miss","channel":"cache-a"}]}`)
	header := func(ct, key, sig string) http.Header {
		h := http.Header{}
		h.Set("Content-Type", ct)
		h.Set("X-Pusher-Key", key)
		h.Set("X-Pusher-Signature", sig)
		return h
	}
	good := Sign(testSecret, body)
	p, err := Verify(testSecret, testKey, header("application/json", testKey, good), body)
	if err != nil || p.TimeMS != 1 || len(p.Events) != 1 || p.Events[0] != CacheMiss("cache-a") {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-5] = 'b'
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
		want error
	}{
		"tampered body": {header("application/json", testKey, good), tampered, ErrBadSignature},
		"wrong key":     {header("application/json", "other", good), body, ErrBadSignature},
		"wrong secret":  {header("application/json", testKey, Sign("other", body)), body, ErrBadSignature},
		"no signature":  {header("application/json", testKey, ""), body, ErrBadSignature},
		"not json type": {header("text/plain", testKey, good), body, ErrInvalidEvent},
		"not json body": {header("application/json", testKey, Sign(testSecret, []byte("x"))), []byte("x"), ErrInvalidEvent},
	} {
		if _, err := Verify(testSecret, testKey, c.h, c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
