package jsclient_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/velocitykode/velocity/broadcast/jsclient"
)

func TestHandlerServesModule(t *testing.T) {
	h := jsclient.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, jsclient.Path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET = %d", rec.Code)
	}
	hdr := rec.Header()
	if got := hdr.Get("Content-Type"); got != jsclient.ContentType {
		t.Errorf("Content-Type = %q", got)
	}
	if hdr.Get("Cache-Control") != "no-cache" || hdr.Get("ETag") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("caching headers: %v", hdr)
	}
	if !bytes.Equal(rec.Body.Bytes(), jsclient.Source()) || !bytes.Contains(rec.Body.Bytes(), []byte("export class Velocity")) {
		t.Error("body is not velocity.js")
	}

	// Revalidation answers 304 without a body.
	req := httptest.NewRequest(http.MethodGet, jsclient.Path, nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match = %d with %d bytes", rec.Code, rec.Body.Len())
	}

	// A versioned URL is immutable.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, jsclient.Path+"?v="+jsclient.Version(), nil))
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("versioned Cache-Control = %q", got)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, jsclient.Path, nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d bytes", rec.Code, rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, jsclient.Path, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d", rec.Code)
	}
}

func TestSourceIsACopy(t *testing.T) {
	a := jsclient.Source()
	a[0] = 'X'
	if jsclient.Source()[0] == 'X' {
		t.Fatal("Source exposes the embedded bytes")
	}
	if len(jsclient.Version()) != 16 {
		t.Fatalf("Version = %q", jsclient.Version())
	}
}

// The module parses as JavaScript (Node, when installed, checks the syntax;
// the browser tests in test/browser run it for real).
func TestModuleSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; test/browser runs the client in Chromium")
	}
	cmd := exec.Command(node, "--input-type=module", "--check")
	cmd.Stdin = bytes.NewReader(jsclient.Source())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}
