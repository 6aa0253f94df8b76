package redisbroker

import "github.com/redis/go-redis/v9"

// The Lua scripts keep a presence channel's hashes consistent; each runs
// atomically on the keys of one channel (KEYS = keys.channelKeys):
// KEYS[1] members (user → member JSON), KEYS[2] refs (user → connection
// count), KEYS[3] conns (socket → "node\tuser"), KEYS[4] clients
// (socket → node), KEYS[5] the presence version (hash: v, e), KEYS[6]
// the held departures (sorted set user → deadline, see grace.go).
//
// Every membership change (a user's first connection, a user's last one
// leaving) moves the version v forward; the version comes back with each
// member list and travels on each member event, so that a subscriber
// drops the events its list already reflects (Envelope.Version). The
// version is Redis time in microseconds, or the last version plus one if
// that is not later, so that it keeps growing when Redis loses its data.
// e is the version at which the key was created: the epoch of the
// presence state. After Redis lost the state, nodes write their members
// again in a new epoch; those restated member_added carry it
// (Envelope.Epoch) and reach only subscribers whose list is of this epoch,
// as older ones already know the member. The key has no TTL, so nothing
// but a loss of the state can start a new epoch under its subscribers:
// it is deleted with the channel's last presence member.

// bumpVersion is the Lua that moves KEYS[5] forward and sets v to it.
const bumpVersion = `
local t = redis.call('TIME')
v = tonumber(t[1]) * 1000000 + tonumber(t[2])
local old = tonumber(redis.call('HGET', KEYS[5], 'v') or '0')
if v <= old then v = old + 1 end
if old == 0 then redis.call('HSET', KEYS[5], 'e', string.format('%.0f', v)) end
redis.call('HSET', KEYS[5], 'v', string.format('%.0f', v))
`

// dropEmptyVersion is the Lua that deletes KEYS[5] with the channel's
// last presence member (a member whose departure is held has no
// connection): the key lives exactly as long as the state it versions,
// so a missing key always means a new epoch.
const dropEmptyVersion = `
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[5]) end
`

// currentVersion is the Lua that sets v to KEYS[5] without moving it.
const currentVersion = `
v = tonumber(redis.call('HGET', KEYS[5], 'v') or '0')
`

// joinScript adds a connection. ARGV: socket, node, user, member JSON,
// the most members (0: no cap). A user whose departure is held comes
// back without being first. It returns {first (0/1), members as a
// flat HGETALL list, version}, or {-1, member count} and changes nothing
// when the user is not a member and the channel has the most members.
var joinScript = redis.NewScript(`
local max = tonumber(ARGV[5] or '0')
if max > 0 and redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then
  local n = redis.call('HLEN', KEYS[1])
  if n >= max then return {-1, n} end
end
local first, v = 0, 0
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2] .. '\t' .. ARGV[3]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then first = 1 - redis.call('ZREM', KEYS[6], ARGV[3]) end
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
if first == 1 or redis.call('EXISTS', KEYS[5]) == 0 then` + bumpVersion + `else` + currentVersion + `end
return {first, redis.call('HGETALL', KEYS[1]), v}
`)

// leaveScript removes a connection. ARGV: socket. It returns the new
// version when it was its user's last connection (the member was
// removed), else 0.
var leaveScript = redis.NewScript(`
local entry = redis.call('HGET', KEYS[3], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
local user = string.sub(entry, string.find(entry, '\t', 1, true) + 1)
if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
  redis.call('HDEL', KEYS[2], user)
  redis.call('HDEL', KEYS[1], user)
  local v` + bumpVersion + dropEmptyVersion + `return v
end
return 0
`)

// clientScript records (ARGV: socket, node) or forgets (ARGV: socket) a
// subscriber in a channel's registry hash, KEYS[1]. It returns 1 when the
// channel had no subscriber before, -1 when it has none after, else 0:
// Redis runs one script at a time, so each change of a channel's
// occupancy is reported to exactly one node.
var clientScript = redis.NewScript(`
if ARGV[2] then
  local before = redis.call('HLEN', KEYS[1])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if before == 0 then return 1 end
  return 0
end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then return -1 end
return 0
`)

// syncScript makes one node's entries in a channel exactly the given
// ones: it removes the node's other connections and subscribers and adds
// the missing ones. The reaper runs it with nothing wanted for a dead
// node, Close for its own node.
// ARGV: node, n, then n triples (socket, user, member JSON), then the
// subscriber socket ids. It returns {users removed, {socket, member JSON}
// of each user added, the version after the changes and the epoch of the
// state (both 0: no change), the change of the channel's occupancy (as
// clientScript's)}.
var syncScript = redis.NewScript(`
local node, n = ARGV[1], tonumber(ARGV[2])
local occupied = redis.call('EXISTS', KEYS[4])
local want = {}
for i = 0, n - 1 do want[ARGV[3 + 3 * i]] = true end
local removed, added = {}, {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local sock, v = all[i], all[i + 1]
  local tab = string.find(v, '\t', 1, true)
  if tab and string.sub(v, 1, tab - 1) == node and not want[sock] then
    local user = string.sub(v, tab + 1)
    redis.call('HDEL', KEYS[3], sock)
    if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
      redis.call('HDEL', KEYS[2], user)
      redis.call('HDEL', KEYS[1], user)
      table.insert(removed, user)
    end
  end
end
for i = 0, n - 1 do
  local sock, user, js = ARGV[3 + 3 * i], ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  if redis.call('HSETNX', KEYS[3], sock, node .. '\t' .. user) == 1 then
    if redis.call('HINCRBY', KEYS[2], user, 1) == 1 and redis.call('ZREM', KEYS[6], user) == 0 then
      table.insert(added, sock)
      table.insert(added, js)
    end
    redis.call('HSET', KEYS[1], user, js)
  end
end
local wantc = {}
for i = 3 + 3 * n, #ARGV do wantc[ARGV[i]] = true end
local cl = redis.call('HGETALL', KEYS[4])
for i = 1, #cl, 2 do
  if cl[i + 1] == node and not wantc[cl[i]] then redis.call('HDEL', KEYS[4], cl[i]) end
end
for s in pairs(wantc) do redis.call('HSET', KEYS[4], s, node) end
local v, e = 0, 0
if #removed > 0 or #added > 0 then` + bumpVersion + `e = tonumber(redis.call('HGET', KEYS[5], 'e'))
end` + dropEmptyVersion + `
return {removed, added, v, e, redis.call('EXISTS', KEYS[4]) - occupied}
`)
