package websocket

import (
	"encoding/json"
	"testing"
)

// Presence user ids in signed channel_data are JSON: escapes decode, and
// numbers keep their text.
func TestMemberFromChannelData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ data, id string }{
		{`{"user_id":"AT\u0026T","user_info":{"n":1}}`, "AT&T"},
		{`{"user_id":"\"quoted\""}`, `"quoted"`},
		{`{"user_id":42}`, "42"},
		{`{"user_id":1e3}`, "1e3"},
	} {
		m, perr := memberFromChannelData(tc.data)
		if perr != nil || m.UserID != tc.id {
			t.Errorf("%s: member %+v, %v; want id %q", tc.data, m, perr, tc.id)
		}
	}
	for _, bad := range []string{`{"user_id":""}`, `{"user_id":null}`, `{"user_id":true}`, `{"user_id":{}}`, `{}`, `[]`, `x`} {
		if _, perr := memberFromChannelData(bad); perr == nil || perr.Code != CodeUnauthorized {
			t.Errorf("%s accepted (%v)", bad, perr)
		}
	}
}

// FuzzMemberFromChannelData: signed channel_data never panics the
// server; what it accepts has a non-empty user id and user_info that is
// valid JSON.
func FuzzMemberFromChannelData(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"1","user_info":{"name":"Ann"}}`, `{"user_id":42}`, `{"user_id":"AT\u0026T"}`,
		`{"user_id":null}`, `{"user_info":1}`, `[]`, `"x"`, ``, `{"user_id":"1","user_info":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		m, perr := memberFromChannelData(data)
		if perr != nil {
			if perr.Code != CodeUnauthorized {
				t.Fatalf("code %d", perr.Code)
			}
			return
		}
		if m.UserID == "" || len(m.UserInfo) > 0 && !json.Valid(m.UserInfo) {
			t.Fatalf("accepted %q as %+v", data, m)
		}
	})
}
