package signature

import (
	"net/url"
	"testing"
	"time"
)

// FuzzVerifyChannelAuth checks that VerifyChannelAuth never panics and accepts
// exactly the token ChannelAuth produces for the same inputs.
func FuzzVerifyChannelAuth(f *testing.F) {
	f.Add("278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4", "1234.1234", "private-foobar", "")
	f.Add("278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800", "1234.1234", "presence-foobar", `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`)
	f.Add("", "", "", "")
	f.Add(":", "1:2", ":user:", "\x00\xff")
	f.Add("a:b:c", "1.1", "private-é", "{")
	f.Fuzz(func(t *testing.T, auth, socketID, channel, channelData string) {
		err := VerifyChannelAuth(docsApp, auth, socketID, channel, channelData)
		if err == nil && auth != ChannelAuth(docsApp, socketID, channel, channelData) {
			t.Fatalf("accepted a token ChannelAuth would not produce: %q", auth)
		}
		want := ChannelAuth(docsApp, socketID, channel, channelData)
		err = VerifyChannelAuth(docsApp, want, socketID, channel, channelData)
		hasColon := containsColon(socketID) || containsColon(channel)
		if (err == nil) == hasColon {
			t.Fatalf("own token: err = %v (colon in inputs: %v)", err, hasColon)
		}
	})
}

// FuzzVerifyRequest checks that VerifyRequest never panics on arbitrary
// queries and bodies.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("GET", "/apps/3/channels", "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291", []byte(nil))
	f.Add("POST", "/apps/3/events", "auth_key=278d425bdf160c739803&auth_timestamp=-1&auth_version=1.0&body_md5=x&auth_signature=", []byte("{}"))
	f.Add("", "", "%zz&&=&a", []byte{0})
	f.Fuzz(func(t *testing.T, method, path, raw string, body []byte) {
		q, _ := url.ParseQuery(raw)
		_ = VerifyRequest(docsApp, method, path, q, body, time.Unix(1353088179, 0), 0)
		signed := SignRequest(docsApp, method, path, q, body, time.Unix(1353088179, 0))
		if err := VerifyRequest(docsApp, method, path, signed, body, time.Unix(1353088179, 0), 0); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}
