package websocket

import (
	"hash/maphash"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkConnect is the setup of one authenticated connection: dial,
// upgrade, identify, count toward its user (unless the cap is off), the
// connected frame, close.
func BenchmarkConnect(b *testing.B) {
	for _, bc := range []struct {
		name string
		cap  int
	}{{"per-user-cap", DefaultMaxConnectionsPerUser}, {"no-per-user-cap", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			ts := newTestServer(b, Config{MaxConnectionsPerUser: bc.cap}, WithAuthenticator(headerUser))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ws, _, err := websocket.DefaultDialer.Dial(ts.url, asUser(strconv.Itoa(i%64)))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := ws.ReadMessage(); err != nil {
					b.Fatal(err)
				}
				ws.Close()
			}
		})
	}
}

// BenchmarkUserConns is the counting alone, from every core at once:
// one connection of one of 1024 users counted and uncounted.
func BenchmarkUserConns(b *testing.B) {
	var u userConns
	seed := maphash.MakeSeed()
	users := make([]string, 1024)
	for i := range users {
		users[i] = "user-" + strconv.Itoa(i)
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			user := users[i%len(users)]
			i++
			if !u.add(seed, user, DefaultMaxConnectionsPerUser) {
				b.Error("cap reached")
				return
			}
			u.remove(seed, user)
		}
	})
}
