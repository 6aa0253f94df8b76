package websocket

import (
	"hash/maphash"
	"sync"
)

// userConns counts the connections of each user on this process, in 16
// stripes by user id so that connections of different users rarely
// share a mutex. A stripe's mutex guards its map only and is held for a
// map update. Users without connections have no entry.
type userConns struct {
	mu [16]sync.Mutex
	n  [16]map[string]int
}

func (u *userConns) stripe(seed maphash.Seed, user string) int {
	return int(maphash.String(seed, user) % uint64(len(u.mu)))
}

// add counts one more connection of user unless it has max already.
func (u *userConns) add(seed maphash.Seed, user string, max int) bool {
	i := u.stripe(seed, user)
	u.mu[i].Lock()
	defer u.mu[i].Unlock()
	if u.n[i] == nil {
		u.n[i] = make(map[string]int)
	}
	if u.n[i][user] >= max {
		return false
	}
	u.n[i][user]++
	return true
}

// remove counts one connection of user less.
func (u *userConns) remove(seed maphash.Seed, user string) {
	i := u.stripe(seed, user)
	u.mu[i].Lock()
	defer u.mu[i].Unlock()
	if u.n[i][user] <= 1 {
		delete(u.n[i], user)
		return
	}
	u.n[i][user]--
}

// count returns user's connections on this process.
func (u *userConns) count(seed maphash.Seed, user string) int {
	i := u.stripe(seed, user)
	u.mu[i].Lock()
	defer u.mu[i].Unlock()
	return u.n[i][user]
}

// countUser counts c toward user's connections on this process, unless
// there is no cap, user is "" (anonymous) or c already counts toward a
// user: a connection counts once, for the first user it is known as —
// the one it connected as, signed in as, refreshed its token to, or else
// joined a presence channel as — until it closes. Over
// MaxConnectionsPerUser it returns a 4101 error and c counts toward
// nobody.
func (s *Server) countUser(c *client, user string) *ProtocolError {
	max := s.cfg.MaxConnectionsPerUser
	if max < 0 || user == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.countedUser != "" {
		return nil
	}
	if !s.users.add(s.seed, user, max) {
		return protoErr(CodeUserOverCapacity, nil, "too many connections of this user (%d per process), retry later", max)
	}
	c.countedUser = user
	return nil
}

// uncountUser frees the slot c held among its user's connections.
func (s *Server) uncountUser(c *client) {
	c.mu.Lock()
	user := c.countedUser
	c.countedUser = ""
	c.mu.Unlock()
	if user != "" {
		s.users.remove(s.seed, user)
	}
}

// UserConnectionCount returns the connections of the user with id
// userID on this process, as counted toward MaxConnectionsPerUser (0
// when there is no cap).
func (s *Server) UserConnectionCount(userID string) int {
	return s.users.count(s.seed, userID)
}
