package routes

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/broadcast/signature"
)

func TestUserAuth(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "", 0)
	post := func(form url.Values, user string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.url+UserAuthPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.Header.Set("X-Test-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("status %d: body is not a JSON object of strings: %v", resp.StatusCode, err)
		}
		return resp.StatusCode, out
	}
	status, out := post(url.Values{"socket_id": {"123.456"}}, "42")
	if status != 200 || out["user_data"] != `{"id":"42"}` {
		t.Fatalf("user-auth: %d %v", status, out)
	}
	if err := signature.VerifyUserAuth(apiApp, out["auth"], "123.456", out["user_data"]); err != nil {
		t.Fatalf("user-auth signature: %v", err)
	}
	if status, out := post(url.Values{"socket_id": {"123.456"}}, ""); status != 401 || out["error"] == "" {
		t.Fatalf("anonymous: %d %v", status, out)
	}
	if status, _ := post(url.Values{"socket_id": {"x:1"}}, "42"); status != 400 {
		t.Fatalf("bad socket id: %d", status)
	}
	if status, _ := post(url.Values{}, "42"); status != 400 {
		t.Fatalf("no socket id: %d", status)
	}
}
