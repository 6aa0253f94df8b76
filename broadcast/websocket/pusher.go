package websocket

import (
	"net/http"
	"strings"
)

// ServePusher upgrades a request for {prefix}/app/{key} to the Pusher
// Channels protocol v7, so unmodified pusher-js and laravel-echo clients
// connect. The key is the last segment of the request path; an unknown key
// gets pusher:error 4001 and close code 4001. Origins are checked as for
// the native protocol (4009).
func (s *Server) ServePusher(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, s.pusher)
}

// PusherHandler returns ServePusher as an http.Handler.
func (s *Server) PusherHandler() http.Handler { return http.HandlerFunc(s.ServePusher) }

// checkPusherKey refuses an upgrade whose path does not end in the key of
// a configured app.
func checkPusherKey(s *Server, r *http.Request) *ProtocolError {
	key := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if _, ok := s.pusherApp(key); !ok {
		return protoErr(4001, nil, "Application does not exist")
	}
	return nil
}
