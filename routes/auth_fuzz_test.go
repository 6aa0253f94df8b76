package routes

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
)

// FuzzChannelAuth: any /broadcasting/auth body, form or JSON, gets one of
// the documented answers with a JSON body, and a signature only for a
// valid socket id and a private or presence channel.
func FuzzChannelAuth(f *testing.F) {
	f.Add("socket_id=1.2&channel_name=private-a", false)
	f.Add(`{"socket_id":"1.2","channel_name":"presence-room"}`, true)
	f.Add("socket_id=1.2&channel_name=orders", false)
	f.Add(`{"socket_id":"x","channel_name":"private-a"}`, true)
	f.Add("%zz", false)
	f.Add(`{"socket_id":1}`, true)
	b := broadcast.New(nil)
	b.SetAuthorizer(func(channel string, _ any) bool { return !strings.Contains(channel, "no") })
	rt := Routes{
		Broadcaster: b,
		App:         signature.App{ID: "1", Key: "k", Secret: "s"},
		User:        func(*http.Request) (any, error) { return "user-1", nil },
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		req := httptest.NewRequest(http.MethodPost, AuthPath, strings.NewReader(body))
		if asJSON {
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		} else {
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		}
		rec := httptest.NewRecorder()
		if err := rt.ChannelAuth(e.NewContext(req, rec)); err != nil {
			t.Fatalf("handler error %v", err)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d, body %q is not JSON", rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
			if auth, _ := answer["auth"].(string); !strings.HasPrefix(auth, "k:") {
				t.Fatalf("200 without a signature: %v", answer)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if answer["error"] == nil {
				t.Fatalf("%d without an error code: %v", rec.Code, answer)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
