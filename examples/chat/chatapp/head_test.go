package chatapp

import (
	"io"
	"net/http"
	"strconv"
	"testing"
)

// HEAD on the page and its files answers as GET does, without the body.
func TestPagesAnswerHead(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/", "/index.html", "/chat.js", "/ui.js", "/net.js", "/style.css", "/broadcasting/client.js"} {
		get, getBody := fetch(t, http.MethodGet, h.srv.URL+path)
		head, headBody := fetch(t, http.MethodHead, h.srv.URL+path)
		if get.StatusCode != http.StatusOK || head.StatusCode != http.StatusOK || len(headBody) != 0 {
			t.Errorf("%s: GET %d, HEAD %d with %d body bytes", path, get.StatusCode, head.StatusCode, len(headBody))
			continue
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Security-Policy", "X-Content-Type-Options"} {
			if head.Header.Get(k) != get.Header.Get(k) || get.Header.Get(k) == "" {
				t.Errorf("%s: %s is %q for HEAD, %q for GET", path, k, head.Header.Get(k), get.Header.Get(k))
			}
		}
		if head.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
			t.Errorf("%s: HEAD Content-Length %s, GET body %d bytes", path, head.Header.Get("Content-Length"), len(getBody))
		}
	}
	// API endpoints answer HEAD as GET too (status and headers, no body).
	for _, path := range []string{"/rooms", "/broadcasting/health"} {
		get, _ := fetch(t, http.MethodGet, h.srv.URL+path)
		head, body := fetch(t, http.MethodHead, h.srv.URL+path)
		if head.StatusCode != get.StatusCode || get.StatusCode != http.StatusOK || len(body) != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("%s: GET %d, HEAD %d (%q) with %d body bytes", path, get.StatusCode, head.StatusCode, head.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, _ := fetch(t, http.MethodHead, h.srv.URL+"/missing.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of a missing file: %d", resp.StatusCode)
	}
}

func fetch(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
