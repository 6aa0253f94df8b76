// Package jsclient embeds the browser client of the native protocol,
// velocity.js: a dependency-free ES module with a Laravel Echo-like API
// (channel/private/join, listen, whisper, here/joining/leaving), automatic
// reconnection with backoff and token refresh, and recovery on channels
// with history: it resubscribes with the last offset and epoch it
// delivered, so the server replays what was missed (subscribed callbacks
// get {recovered}), and channel.history(limit) reads the retained
// publications. Serve it with Handler, for example at
// GET /broadcasting/client.js, and import it from a page:
//
//	<script type="module">
//	  import { Velocity } from '/broadcasting/client.js';
//	  const velocity = new Velocity({ token });
//	  velocity.channel('orders').listen('OrderShipped', (e) => console.log(e));
//	</script>
package jsclient

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// Path is where the plugin serves the client (routes.Mount).
const Path = "/broadcasting/client.js"

// ContentType is the media type the client is served with.
const ContentType = "text/javascript; charset=utf-8"

//go:embed velocity.js
var source []byte

var version = func() string {
	sum := sha256.Sum256(source)
	return hex.EncodeToString(sum[:8])
}()

// Source returns a copy of velocity.js.
func Source() []byte { return bytes.Clone(source) }

// Version returns a short content hash of velocity.js. A request whose
// "v" query parameter equals it is cached as immutable; use it to build
// cache-busting URLs such as Path+"?v="+Version().
func Version() string { return version }

// Handler serves velocity.js for GET and HEAD: an ES module content type,
// a strong ETag (If-None-Match answers 304), "Cache-Control: no-cache"
// (browsers revalidate, so an upgrade is seen at once) or, for a
// ?v=<Version()> URL, a year of immutable caching.
func Handler() http.Handler {
	etag := `"` + version + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, "velocity.js", time.Time{}, bytes.NewReader(source))
	})
}
