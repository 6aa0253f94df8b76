package signature_test

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// The credentials and socket ID of the Pusher documentation's test vectors.
var app = signature.App{ID: "3", Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}

func ExampleChannelAuth() {
	// Private channel: no channel data.
	fmt.Println(signature.ChannelAuth(app, "1234.1234", "private-foobar", ""))

	// Presence channel: sign the exact channel_data string sent to the client.
	channelData := `{"user_id":"10","user_info":{"name":"Mr. Channels"}}`
	fmt.Println(signature.ChannelAuth(app, "1234.1234", "presence-foobar", channelData))
	// Output:
	// 278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4
	// 278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800
}

func ExampleVerifyChannelAuth() {
	auth := "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"

	fmt.Println(signature.VerifyChannelAuth(app, auth, "1234.1234", "private-foobar", ""))

	err := signature.VerifyChannelAuth(app, auth, "1234.1234", "private-other", "")
	fmt.Println(errors.Is(err, signature.ErrBadSignature))
	// Output:
	// <nil>
	// true
}

func ExampleUserAuth() {
	fmt.Println(signature.UserAuth(app, "1234.1234", `{"id":"12345"}`))
	// Output:
	// 278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba
}

func ExampleSignRequest() {
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	now := time.Unix(1353088179, 0)

	q := signature.SignRequest(app, "POST", "/apps/3/events", nil, body, now)
	fmt.Println(q.Get("body_md5"))
	fmt.Println(q.Get("auth_signature"))
	// Output:
	// ec365a775a4cd0599faeb73354201b6f
	// da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c
}

func ExampleVerifyRequest() {
	// A GET as sent by the PHP SDK, whose HTTP client URL-encodes values.
	raw := "auth_key=278d425bdf160c739803&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291" +
		"&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence%2D&info=user_count"
	query, _ := url.ParseQuery(raw)
	now := time.Unix(1353088179+42, 0)

	fmt.Println(signature.VerifyRequest(app, "GET", "/apps/3/channels", query, nil, now, 0))

	err := signature.VerifyRequest(app, "GET", "/apps/3/channels", query, nil, now.Add(time.Hour), 0)
	fmt.Println(errors.Is(err, signature.ErrStaleTimestamp))
	// Output:
	// <nil>
	// true
}
