package signature

import (
	"errors"
	"strings"
	"testing"
)

// Credentials of the test vectors printed in the Pusher documentation.
var docsApp = App{ID: "3", Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}

const docsSocket = "1234.1234"

func TestSignVectors(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    string
	}{
		{
			name:    "private channel (§3.1, docs)",
			message: "1234.1234:private-foobar",
			want:    "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		},
		{
			name:    "user signin (§3.1, docs)",
			message: `1234.1234::user::{"id":"12345"}`,
			want:    "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba",
		},
		{
			name:    "presence numeric user_id (§3.1, recomputed)",
			message: `1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}`,
			want:    "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
		},
		{
			name:    "presence Laravel string user_id (§3.1)",
			message: `1234.1234:presence-foobar:{"user_id":"10","user_info":{"name":"Mr. Channels"}}`,
			want:    "4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800",
		},
		{
			name:    "HTTP API POST events (§4.2, docs)",
			message: "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
			want:    "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
		},
		{
			name:    "HTTP API GET channels (§4.2, extra)",
			message: "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
			want:    "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(docsApp.Secret, tt.message); got != tt.want {
				t.Errorf("Sign(%q) = %s, want %s", tt.message, got, tt.want)
			}
		})
	}
}

// The presence signature printed in the Pusher documentation
// (afaed369…6304c) belongs to "Mr. Pusher", not to the JSON shown with it.
func TestDocsPresenceVectorIsStale(t *testing.T) {
	shown := `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`
	stale := `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`
	sig := Sign(docsApp.Secret, docsSocket+":presence-foobar:"+stale)
	if !strings.HasPrefix(sig, "afaed369") || !strings.HasSuffix(sig, "6304c") {
		t.Fatalf("stale docs vector not reproduced: %s", sig)
	}
	if err := VerifyChannelAuth(docsApp, docsApp.Key+":"+sig, docsSocket, "presence-foobar", shown); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("docs signature accepted for the JSON shown next to it: %v", err)
	}
}

func TestChannelAuthVectors(t *testing.T) {
	tests := []struct {
		name        string
		channel     string
		channelData string
		want        string
	}{
		{
			name:    "private",
			channel: "private-foobar",
			want:    "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		},
		{
			name:        "presence numeric user_id",
			channel:     "presence-foobar",
			channelData: `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`,
			want:        "278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
		},
		{
			name:        "presence string user_id",
			channel:     "presence-foobar",
			channelData: `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`,
			want:        "278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChannelAuth(docsApp, docsSocket, tt.channel, tt.channelData)
			if got != tt.want {
				t.Fatalf("ChannelAuth = %s, want %s", got, tt.want)
			}
			if err := VerifyChannelAuth(docsApp, tt.want, docsSocket, tt.channel, tt.channelData); err != nil {
				t.Fatalf("VerifyChannelAuth(vector) = %v", err)
			}
		})
	}
}

func TestUserAuthVector(t *testing.T) {
	const userData = `{"id":"12345"}`
	const want = "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
	if got := UserAuth(docsApp, docsSocket, userData); got != want {
		t.Fatalf("UserAuth = %s, want %s", got, want)
	}
	if err := VerifyUserAuth(docsApp, want, docsSocket, userData); err != nil {
		t.Fatalf("VerifyUserAuth(vector) = %v", err)
	}
}

func TestVerifyChannelAuth(t *testing.T) {
	const (
		channel = "presence-foobar"
		data    = `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`
	)
	good := ChannelAuth(docsApp, docsSocket, channel, data)
	goodSig := good[strings.LastIndexByte(good, ':')+1:]
	otherSecret := docsApp
	otherSecret.Secret = "another-secret"
	otherKey := docsApp
	otherKey.Key = "another-key"

	tests := []struct {
		name    string
		app     App
		auth    string
		socket  string
		channel string
		data    string
		wantErr error
	}{
		{name: "valid", app: docsApp, auth: good, socket: docsSocket, channel: channel, data: data},
		{name: "other socket id", app: docsApp, auth: good, socket: "1234.1235", channel: channel, data: data, wantErr: ErrBadSignature},
		{name: "other channel", app: docsApp, auth: good, socket: docsSocket, channel: "presence-foobaz", data: data, wantErr: ErrBadSignature},
		{name: "tampered channel_data", app: docsApp, auth: good, socket: docsSocket, channel: channel, data: `{"user_id":"11","user_info":{"name":"Mr. Channels"}}`, wantErr: ErrBadSignature},
		{name: "re-marshalled channel_data", app: docsApp, auth: good, socket: docsSocket, channel: channel, data: `{"user_info":{"name":"Mr. Channels"},"user_id":"10"}`, wantErr: ErrBadSignature},
		{name: "channel_data dropped", app: docsApp, auth: good, socket: docsSocket, channel: channel, data: "", wantErr: ErrBadSignature},
		{name: "verified with other secret", app: otherSecret, auth: good, socket: docsSocket, channel: channel, data: data, wantErr: ErrBadSignature},
		{name: "signed with other secret", app: docsApp, auth: ChannelAuth(otherSecret, docsSocket, channel, data), socket: docsSocket, channel: channel, data: data, wantErr: ErrBadSignature},
		{name: "other key in token", app: docsApp, auth: "another-key:" + goodSig, socket: docsSocket, channel: channel, data: data, wantErr: ErrWrongKey},
		{name: "verified against other app key", app: otherKey, auth: good, socket: docsSocket, channel: channel, data: data, wantErr: ErrWrongKey},
		{name: "uppercase hex", app: docsApp, auth: docsApp.Key + ":" + strings.ToUpper(goodSig), socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "flipped hex digit", app: docsApp, auth: good[:len(good)-1] + flipHex(good[len(good)-1]), socket: docsSocket, channel: channel, data: data, wantErr: ErrBadSignature},
		{name: "signature only", app: docsApp, auth: goodSig, socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "empty", app: docsApp, auth: "", socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "empty key", app: docsApp, auth: ":" + goodSig, socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "empty signature", app: docsApp, auth: docsApp.Key + ":", socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "truncated signature", app: docsApp, auth: good[:len(good)-2], socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "extended signature", app: docsApp, auth: good + "00", socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "non-hex signature", app: docsApp, auth: docsApp.Key + ":" + strings.Repeat("z", 64), socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "trailing space", app: docsApp, auth: good + " ", socket: docsSocket, channel: channel, data: data, wantErr: ErrMalformedAuth},
		{name: "app without secret", app: App{Key: docsApp.Key}, auth: ChannelAuth(App{Key: docsApp.Key}, docsSocket, channel, data), socket: docsSocket, channel: channel, data: data, wantErr: ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyChannelAuth(tt.app, tt.auth, tt.socket, tt.channel, tt.data)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestVerifyChannelAuthPrivateVsPresence(t *testing.T) {
	// A token issued for a private channel must not authorize a presence
	// subscription with channel_data, and vice versa.
	priv := ChannelAuth(docsApp, docsSocket, "private-foobar", "")
	checkErr(t, VerifyChannelAuth(docsApp, priv, docsSocket, "private-foobar", `{"user_id":"1"}`), ErrBadSignature)
	pres := ChannelAuth(docsApp, docsSocket, "presence-foobar", `{"user_id":"1"}`)
	checkErr(t, VerifyChannelAuth(docsApp, pres, docsSocket, "presence-foobar", ""), ErrBadSignature)
}

func TestVerifyUserAuth(t *testing.T) {
	const userData = `{"id":"12345"}`
	good := UserAuth(docsApp, docsSocket, userData)
	sig := good[strings.LastIndexByte(good, ':')+1:]
	otherSecret := docsApp
	otherSecret.Secret = "another-secret"

	tests := []struct {
		name     string
		app      App
		auth     string
		socket   string
		userData string
		wantErr  error
	}{
		{name: "valid", app: docsApp, auth: good, socket: docsSocket, userData: userData},
		{name: "other socket id", app: docsApp, auth: good, socket: "1.1", userData: userData, wantErr: ErrBadSignature},
		{name: "tampered user_data", app: docsApp, auth: good, socket: docsSocket, userData: `{"id":"12346"}`, wantErr: ErrBadSignature},
		{name: "other secret", app: otherSecret, auth: good, socket: docsSocket, userData: userData, wantErr: ErrBadSignature},
		{name: "other key", app: docsApp, auth: "nope:" + sig, socket: docsSocket, userData: userData, wantErr: ErrWrongKey},
		{name: "uppercase hex", app: docsApp, auth: docsApp.Key + ":" + strings.ToUpper(sig), socket: docsSocket, userData: userData, wantErr: ErrMalformedAuth},
		{name: "malformed", app: docsApp, auth: "garbage", socket: docsSocket, userData: userData, wantErr: ErrMalformedAuth},
		{name: "socket id with colon", app: docsApp, auth: UserAuth(docsApp, "1:", userData), socket: "1:", userData: userData, wantErr: ErrBadSignature},
		{
			// A channel token must not pass as a signin token.
			name: "channel token reused", app: docsApp,
			auth:   ChannelAuth(docsApp, docsSocket, "private-foobar", ""),
			socket: docsSocket, userData: "private-foobar", wantErr: ErrBadSignature,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, VerifyUserAuth(tt.app, tt.auth, tt.socket, tt.userData), tt.wantErr)
		})
	}
}

// The strings to sign of a signin and of a channel named ":user:" coincide;
// VerifyChannelAuth must refuse such channel names (and colon socket IDs).
func TestVerifyChannelAuthRejectsColons(t *testing.T) {
	const userData = `{"id":"12345"}`
	signin := UserAuth(docsApp, docsSocket, userData)
	checkErr(t, VerifyChannelAuth(docsApp, signin, docsSocket, ":user:", userData), ErrBadSignature)

	tok := ChannelAuth(docsApp, "1:2", "private-a", "")
	checkErr(t, VerifyChannelAuth(docsApp, tok, "1:2", "private-a", ""), ErrBadSignature)
}

func TestValidSocketID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "docs", id: "1234.1234", want: true},
		{name: "reverb style", id: "123456789.987654321", want: true},
		{name: "zeros", id: "0.0", want: true},
		{name: "empty", id: "", want: false},
		{name: "no dot", id: "1234", want: false},
		{name: "leading dot", id: ".1234", want: false},
		{name: "trailing dot", id: "1234.", want: false},
		{name: "two dots", id: "1.2.3", want: false},
		{name: "colon", id: "1234.1234:", want: false},
		{name: "sign", id: "-1.2", want: false},
		{name: "space", id: "1.2 ", want: false},
		{name: "newline", id: "1.2\n", want: false},
		{name: "unicode digit", id: "\u0661.2", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidSocketID(tt.id); got != tt.want {
				t.Errorf("ValidSocketID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestVerifyErrorsCarryContext(t *testing.T) {
	err := VerifyChannelAuth(docsApp, "x", docsSocket, "private-foobar", "")
	if err == nil || !strings.Contains(err.Error(), `"private-foobar"`) {
		t.Fatalf("error lacks channel context: %v", err)
	}
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
