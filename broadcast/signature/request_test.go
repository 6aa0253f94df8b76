package signature

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The worked example of the Pusher HTTP API signing documentation.
const (
	docsBody      = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	docsBodyMD5   = "ec365a775a4cd0599faeb73354201b6f"
	docsTimestamp = 1353088179
	emptyMD5      = "d41d8cd98f00b204e9800998ecf8427e"
)

var docsNow = time.Unix(docsTimestamp, 0)

func TestRequestVectors(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		query   url.Values
		body    string
		wantMsg string
		wantSig string
	}{
		{
			name:    "POST events (docs)",
			method:  "POST",
			path:    "/apps/3/events",
			body:    docsBody,
			wantMsg: "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
			wantSig: "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
		},
		{
			name:    "GET channels with info (extra)",
			method:  "GET",
			path:    "/apps/3/channels",
			query:   url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}},
			wantMsg: "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
			wantSig: "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			q := SignRequest(docsApp, tt.method, tt.path, tt.query, body, docsNow)

			params := map[string]string{}
			for k, vs := range q {
				if len(vs) != 1 {
					t.Fatalf("key %q has %d values", k, len(vs))
				}
				params[k] = vs[0]
			}
			if got := requestMessage(tt.method, tt.path, params); got != tt.wantMsg {
				t.Errorf("string to sign = %q, want %q", got, tt.wantMsg)
			}
			if got := q.Get("auth_signature"); got != tt.wantSig {
				t.Errorf("auth_signature = %s, want %s", got, tt.wantSig)
			}
			if len(body) > 0 && q.Get("body_md5") != docsBodyMD5 {
				t.Errorf("body_md5 = %s, want %s", q.Get("body_md5"), docsBodyMD5)
			}
			if len(body) == 0 && q.Has("body_md5") {
				t.Errorf("body_md5 set for empty body")
			}
			if err := VerifyRequest(docsApp, tt.method, tt.path, q, body, docsNow, 0); err != nil {
				t.Errorf("VerifyRequest(vector) = %v", err)
			}
		})
	}
}

func TestMD5Vector(t *testing.T) {
	if got := md5Hex([]byte(docsBody)); got != docsBodyMD5 {
		t.Fatalf("md5Hex = %s, want %s", got, docsBodyMD5)
	}
	if got := md5Hex(nil); got != emptyMD5 {
		t.Fatalf("md5Hex(nil) = %s, want %s", got, emptyMD5)
	}
}

// rawVerify parses a raw query string the way net/http does (URL-decoding it)
// and verifies it.
func rawVerify(t *testing.T, method, path, raw, body string, now time.Time, window time.Duration) error {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return VerifyRequest(docsApp, method, path, q, []byte(body), now, window)
}

func TestVerifyRequestWire(t *testing.T) {
	const getSig = "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"
	const postSig = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
	tests := []struct {
		name    string
		method  string
		path    string
		raw     string
		body    string
		wantErr error
	}{
		{
			name: "node SDK order", method: "POST", path: "/apps/3/events", body: docsBody,
			raw: "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
		},
		{
			name: "reordered params", method: "POST", path: "/apps/3/events", body: docsBody,
			raw: "auth_signature=" + postSig + "&body_md5=" + docsBodyMD5 + "&auth_version=1.0&auth_key=278d425bdf160c739803&auth_timestamp=1353088179",
		},
		{
			name: "lowercase method", method: "post", path: "/apps/3/events", body: docsBody,
			raw: "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
		},
		{
			name: "php SDK url-encodes values", method: "GET", path: "/apps/3/channels",
			raw: "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence%2D&info=user%5Fcount&auth_signature=" + getSig,
		},
		{
			name: "uppercase param names", method: "GET", path: "/apps/3/channels",
			raw: "AUTH_KEY=278d425bdf160c739803&Auth_Timestamp=1353088179&auth_version=1.0&Filter_By_Prefix=presence-&INFO=user_count&auth_signature=" + getSig,
		},
		{
			name: "extra param added after signing", method: "POST", path: "/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig + "&socket_id=1.1",
			wantErr: ErrBadSignature,
		},
		{
			name: "param removed after signing", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&auth_signature=" + getSig,
			wantErr: ErrBadSignature,
		},
		{
			name: "param value changed", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=private-&info=user_count&auth_signature=" + getSig,
			wantErr: ErrBadSignature,
		},
		{
			name: "other method", method: "PUT", path: "/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
			wantErr: ErrBadSignature,
		},
		{
			name: "other path", method: "POST", path: "/apps/4/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
			wantErr: ErrBadSignature,
		},
		{
			name: "path with mount prefix", method: "POST", path: "/pusher/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
			wantErr: ErrBadSignature,
		},
		{
			name: "uppercase signature hex", method: "POST", path: "/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + strings.ToUpper(postSig),
			wantErr: ErrBadSignature,
		},
		{
			name: "tampered body, original md5", method: "POST", path: "/apps/3/events", body: strings.Replace(docsBody, "project-3", "project-4", 1),
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
			wantErr: ErrBodyMD5,
		},
		{
			name: "uppercase body_md5", method: "POST", path: "/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + strings.ToUpper(docsBodyMD5) + "&auth_signature=" + postSig,
			wantErr: ErrBodyMD5,
		},
		{
			name: "body_md5 missing", method: "POST", path: "/apps/3/events", body: docsBody,
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&auth_signature=" + postSig,
			wantErr: ErrMissingParam,
		},
		{
			name: "body_md5 on empty body must be md5 of empty", method: "POST", path: "/apps/3/events", body: "",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=" + docsBodyMD5 + "&auth_signature=" + postSig,
			wantErr: ErrBodyMD5,
		},
		{
			name: "auth_key missing", method: "GET", path: "/apps/3/channels",
			raw:     "auth_timestamp=1353088179&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrMissingParam,
		},
		{
			name: "auth_key empty", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=&auth_timestamp=1353088179&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrMissingParam,
		},
		{
			name: "other auth_key", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=other&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&auth_signature=" + getSig,
			wantErr: ErrUnknownKey,
		},
		{
			name: "auth_version missing", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_signature=" + getSig,
			wantErr: ErrMissingParam,
		},
		{
			name: "auth_version 2.0", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=2.0&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
		{
			name: "auth_timestamp missing", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrMissingParam,
		},
		{
			name: "auth_timestamp not integer", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179.5&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
		{
			name: "auth_timestamp overflow", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=99999999999999999999&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
		{
			name: "auth_timestamp far future", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=9223372036854775807&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrStaleTimestamp,
		},
		{
			name: "auth_timestamp far past", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=-9223372036854775808&auth_version=1.0&auth_signature=" + getSig,
			wantErr: ErrStaleTimestamp,
		},
		{
			name: "auth_signature missing", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count",
			wantErr: ErrMissingParam,
		},
		{
			name: "repeated param", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&info=user_count&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
		{
			name: "repeated param differing in case", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&INFO=x&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
		{
			name: "repeated auth_signature", method: "GET", path: "/apps/3/channels",
			raw:     "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count&auth_signature=x&auth_signature=" + getSig,
			wantErr: ErrMalformedParam,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rawVerify(t, tt.method, tt.path, tt.raw, tt.body, docsNow, 0)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestVerifyRequestTimestampWindow(t *testing.T) {
	q := SignRequest(docsApp, "GET", "/apps/3/channels", nil, nil, docsNow)
	tests := []struct {
		name    string
		now     time.Time
		window  time.Duration
		wantErr error
	}{
		{name: "same second", now: docsNow},
		{name: "sub-second later", now: docsNow.Add(999 * time.Millisecond)},
		{name: "default window, +600s edge", now: docsNow.Add(600 * time.Second)},
		{name: "default window, +600.9s truncates to edge", now: docsNow.Add(600*time.Second + 900*time.Millisecond)},
		{name: "default window, +601s", now: docsNow.Add(601 * time.Second), wantErr: ErrStaleTimestamp},
		{name: "default window, -600s edge (signed in future)", now: docsNow.Add(-600 * time.Second)},
		{name: "default window, -601s", now: docsNow.Add(-601 * time.Second), wantErr: ErrStaleTimestamp},
		{name: "custom window edge", now: docsNow.Add(30 * time.Second), window: 30 * time.Second},
		{name: "custom window past", now: docsNow.Add(31 * time.Second), window: 30 * time.Second, wantErr: ErrStaleTimestamp},
		{name: "custom window future", now: docsNow.Add(-31 * time.Second), window: 30 * time.Second, wantErr: ErrStaleTimestamp},
		{name: "negative window means default", now: docsNow.Add(600 * time.Second), window: -time.Second},
		{name: "negative window means default, stale", now: docsNow.Add(601 * time.Second), window: -time.Second, wantErr: ErrStaleTimestamp},
		{name: "zero time", now: time.Time{}, wantErr: ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, VerifyRequest(docsApp, "GET", "/apps/3/channels", q, nil, tt.now, tt.window), tt.wantErr)
		})
	}
}

func TestVerifyRequestSecrets(t *testing.T) {
	body := []byte(docsBody)
	q := SignRequest(docsApp, "POST", "/apps/3/events", nil, body, docsNow)

	other := docsApp
	other.Secret = "another-secret"
	checkErr(t, VerifyRequest(other, "POST", "/apps/3/events", q, body, docsNow, 0), ErrBadSignature)

	forged := SignRequest(other, "POST", "/apps/3/events", nil, body, docsNow)
	checkErr(t, VerifyRequest(docsApp, "POST", "/apps/3/events", forged, body, docsNow, 0), ErrBadSignature)

	noSecret := App{ID: "3", Key: docsApp.Key}
	q2 := SignRequest(noSecret, "POST", "/apps/3/events", nil, body, docsNow)
	checkErr(t, VerifyRequest(noSecret, "POST", "/apps/3/events", q2, body, docsNow, 0), ErrNoSecret)
}

func TestSignRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		query  url.Values
		body   string
	}{
		{name: "publish", method: "POST", path: "/apps/3/events", body: docsBody},
		{name: "batch", method: "POST", path: "/apps/3/batch_events", body: `{"batch":[]}`},
		{name: "terminate", method: "POST", path: "/apps/3/users/1/terminate_connections", body: "{}"},
		{name: "channel info", method: "GET", path: "/apps/3/channels/presence-x", query: url.Values{"info": {"user_count,subscription_count"}}},
		{name: "users", method: "GET", path: "/apps/3/channels/presence-x/users"},
		{name: "special characters", method: "GET", path: "/apps/3/channels", query: url.Values{"filter_by_prefix": {"a&b=c d%/é+"}}},
		{name: "empty value", method: "GET", path: "/apps/3/channels", query: url.Values{"filter_by_prefix": {""}}},
		{name: "stale auth params overwritten", method: "POST", path: "/apps/3/events", body: "{}",
			query: url.Values{"auth_key": {"x"}, "auth_timestamp": {"1"}, "auth_version": {"9"}, "auth_signature": {"y"}, "body_md5": {"z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := SignRequest(docsApp, tt.method, tt.path, tt.query, []byte(tt.body), docsNow)
			// Through the wire: encode and decode as an HTTP stack would.
			wire, err := url.ParseQuery(q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyRequest(docsApp, tt.method, tt.path, wire, []byte(tt.body), docsNow.Add(time.Minute), 0); err != nil {
				t.Fatalf("VerifyRequest = %v (query %s)", err, q.Encode())
			}
			for k := range tt.query {
				if !strings.HasPrefix(k, "auth_") && k != "body_md5" && wire.Get(k) != tt.query.Get(k) {
					t.Errorf("param %q = %q, want %q", k, wire.Get(k), tt.query.Get(k))
				}
			}
		})
	}
}

func TestSignRequestNormalizesQuery(t *testing.T) {
	in := url.Values{"info": {"user_count", "subscription_count"}, "Filter_By_Prefix": {"presence-"}}
	q := SignRequest(docsApp, "GET", "/apps/3/channels", in, nil, docsNow)

	if got := q["info"]; len(got) != 1 || got[0] != "user_count,subscription_count" {
		t.Errorf("info = %q, want one comma-joined value", got)
	}
	if q.Get("filter_by_prefix") != "presence-" || q.Has("Filter_By_Prefix") {
		t.Errorf("key not lowercased: %v", q)
	}
	if len(in["info"]) != 2 || in.Has("auth_signature") {
		t.Errorf("input query modified: %v", in)
	}
	checkErr(t, VerifyRequest(docsApp, "GET", "/apps/3/channels", q, nil, docsNow, 0), nil)
}

func TestVerifyRequestErrorsWrap(t *testing.T) {
	q := SignRequest(docsApp, "GET", "/apps/3/channels", nil, nil, docsNow)
	q.Set("auth_signature", strings.Repeat("0", 64))
	err := VerifyRequest(docsApp, "GET", "/apps/3/channels", q, nil, docsNow, 0)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "/apps/3/channels") {
		t.Fatalf("err = %v", err)
	}
}
