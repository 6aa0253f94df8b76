//go:build unix

package natsbroker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// smallPayload is the max_payload of the NATS the limit tests start, so
// that a channel outgrows one value with a few hundred subscribers.
const smallPayload = 2048

// A node's subscribers of one channel outgrow the server's max_payload:
// another node still lists every one of them, and stops listing them
// when they leave.
func TestClientsPastMaxPayload(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATSConfig(t, fmt.Sprintf("max_payload: %d", smallPayload))
	prefix := testPrefix(t, srv.URL())
	a := newNode(t, srv.URL(), prefix, nil)
	b := newNode(t, srv.URL(), prefix, nil)
	const n = 300 // about 7 KB of socket ids
	var want []string
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = a.dial(t, "")
		subscribe(t, clients[i], "crowd")
		want = append(want, clients[i].SocketID)
	}
	slices.Sort(want)
	wstest.Eventually(t, "the other node to list every subscriber", func() bool {
		return slices.Equal(b.b.GetClients("crowd"), want)
	})
	for _, c := range clients[:n-1] {
		c.Send(`{"type":"unsubscribe","data":{"channel":"crowd"}}`)
		c.RoundTrip()
	}
	wstest.Eventually(t, "the other node to list the one subscriber left", func() bool {
		return slices.Equal(b.b.GetClients("crowd"), want[slices.Index(want, clients[n-1].SocketID):][:1])
	})
	if a.logs.contains("registry write failed") {
		t.Fatalf("registry writes failed:\n%s", a.logs)
	}
}
