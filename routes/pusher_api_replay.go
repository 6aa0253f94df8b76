package routes

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// ReplayGuard remembers the signed Pusher HTTP API requests already
// accepted (see Routes.ReplayGuard).
type ReplayGuard interface {
	// Seen records the request whose auth_signature is sig, signed at
	// signedAt, and reports whether it was recorded before. An error
	// (the store is unreachable) refuses the request with 503.
	Seen(ctx context.Context, sig string, signedAt time.Time) (bool, error)
}

// ReplayCheckTimeout bounds one ReplayGuard.Seen call.
const ReplayCheckTimeout = 2 * time.Second

// MemoryReplayGuard is a ReplayGuard of this process alone, backed by c:
// a request replayed to another process behind the same load balancer is
// not caught.
func MemoryReplayGuard(c *signature.ReplayCache) ReplayGuard { return memoryGuard{c} }

type memoryGuard struct{ c *signature.ReplayCache }

func (g memoryGuard) Seen(_ context.Context, sig string, signedAt time.Time) (bool, error) {
	return g.c.Seen(sig, signedAt, time.Now()), nil
}

// checkReplay refuses a signed request already seen (409) and one the
// guard could not check (503); status 0 lets it through. The request's
// signature has been verified.
func (rt Routes) checkReplay(r *http.Request) (status int, code, msg string) {
	q := r.URL.Query()
	sig := authParam(q, "auth_signature")
	ts, _ := strconv.ParseInt(authParam(q, "auth_timestamp"), 10, 64)
	ctx, cancel := context.WithTimeout(r.Context(), ReplayCheckTimeout)
	defer cancel()
	seen, err := rt.ReplayGuard.Seen(ctx, sig, time.Unix(ts, 0))
	switch {
	case err != nil:
		return http.StatusServiceUnavailable, "replay_check_failed", "replay check: " + err.Error()
	case seen:
		return http.StatusConflict, "replayed_request", "this signed request was already accepted; sign a new one"
	}
	return 0, "", ""
}

// authParam returns a signing parameter; VerifyRequest has checked that
// it appears once, in any case.
func authParam(q url.Values, name string) string {
	for k, vs := range q {
		if len(vs) == 1 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}
