// Two processes of the real server on one Redis, then on one NATS: the
// unmodified laravel-echo and pusher-js connected to different processes
// see one app — presence here/joining/leaving, broadcasts and toOthers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, nextCall, collector, connected } from './helpers.mjs';

const engines = {
  redis: { BROADCAST_DRIVER: 'redis', BROADCAST_REDIS_PREFIX: `compat-${randomBytes(4).toString('hex')}` },
  nats: { BROADCAST_DRIVER: 'nats', BROADCAST_NATS_PREFIX: `compat_${randomBytes(4).toString('hex')}` },
};

const servers = [];
after(async () => { for (const s of servers) await s.stop(); });

// cluster starts two processes with env, which startServer passes on.
async function cluster(env) {
  const saved = { ...process.env };
  Object.assign(process.env, env, { BROADCAST_PRESENCE_GRACE: '0' });
  try {
    const pair = [await startServer(), await startServer()];
    servers.push(...pair);
    return pair;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

for (const [name, env] of Object.entries(engines)) {
  test(`${name}: presence, broadcasts and toOthers across two processes`, async () => {
    const [a, b] = await cluster(env);
    const alice = a.echo(await a.token('1', 'Alice'));
    const bob = b.echo(await b.token('2', 'Bob'));

    const hereA = nextCall('here on A');
    const joining = collector();
    const leaving = collector();
    alice.join('room.1').here(hereA).joining(joining).leaving(leaving);
    assert.deepEqual(await hereA.called, [{ id: '1', name: 'Alice' }]);
    const hereB = nextCall('here on B');
    bob.join('room.1').here(hereB);
    assert.deepEqual((await hereB.called).map((m) => m.name).sort(), ['Alice', 'Bob']);
    assert.deepEqual(await joining.waitFor(1, 'Bob joining, seen on A'), [{ id: '2', name: 'Bob' }]);

    // A broadcast emitted on A reaches the listener on B, and one sent to
    // others of a socket on B skips that socket only.
    const onB = collector();
    const other = b.pusher(null);
    const onOther = collector();
    bob.channel('orders').listen('.OrderShipped', onB);
    other.subscribe('orders').bind('OrderShipped', onOther);
    const bobSocket = () => bob.connector.pusher.connection.socket_id;
    await connected(other);
    await b.settled('orders', bobSocket(), other.connection.socket_id);
    await a.emit(['orders'], 'OrderShipped', { id: 1 });
    assert.deepEqual(await onB.waitFor(1, 'the broadcast on B'), [{ id: 1 }]);
    await a.emit(['orders'], 'OrderShipped', { id: 2 }, bobSocket());
    await a.emit(['orders'], 'OrderShipped', { id: 3 });
    assert.deepEqual(await onOther.waitFor(3, 'every broadcast on the other client'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    assert.deepEqual(await onB.waitFor(2, 'the broadcasts not excluding Bob'), [{ id: 1 }, { id: 3 }]);

    bob.leave('room.1');
    assert.deepEqual(await leaving.waitFor(1, 'Bob leaving, seen on A'), [{ id: '2', name: 'Bob' }]);
  });
}
