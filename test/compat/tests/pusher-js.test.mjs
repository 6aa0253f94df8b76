// pusher-js 8 (ws transport in Node) against the Go server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connected, nextCall, collector, withTimeout } from './helpers.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test('connects with a Pusher socket id', async () => {
  const pusher = server.pusher();
  await connected(pusher);
  assert.match(pusher.connection.socket_id, /^\d+\.\d+$/);
  // The activity timeout from the handshake (30 s) replaced the 120 s default.
  assert.equal(pusher.connection.activityTimeout, 30000);
});

test('public channel receives Go emits', async () => {
  const pusher = server.pusher();
  const channel = pusher.subscribe('news');
  const ok = nextCall('subscription_succeeded');
  channel.bind('pusher:subscription_succeeded', ok);
  await ok.called;
  await server.settled('news', pusher.connection.socket_id);
  const got = nextCall('Headline');
  channel.bind('Headline', got);
  await server.emit(['news'], 'Headline', { title: 'hi', n: 1 });
  assert.deepEqual(await got.called, { title: 'hi', n: 1 });
});

// 4202: the node lost its broker subscriptions for a while (see the README).
for (const code of [4200, 4202]) {
  test(`reconnects after the server closes with ${code} and resubscribes`, async () => {
    const pusher = server.pusher();
    await connected(pusher);
    const channel = pusher.subscribe(`reconnect-room-${code}`);
    const ok = collector();
    channel.bind('pusher:subscription_succeeded', ok);
    await ok.waitFor(1, 'first subscription');
    const first = pusher.connection.socket_id;
    const states = [];
    pusher.connection.bind('state_change', ({ current }) => states.push(current));
    await server.disconnect(first, code);
    await ok.waitFor(2, 'resubscription after reconnect');
    assert.equal(pusher.connection.state, 'connected');
    assert.notEqual(pusher.connection.socket_id, first);
    assert.ok(states.includes('connecting'), `states: ${states}`);
    await server.settled(`reconnect-room-${code}`, pusher.connection.socket_id);
    const got = nextCall('event after reconnect');
    channel.bind('AfterReconnect', got);
    await server.emit([`reconnect-room-${code}`], 'AfterReconnect', { ok: true });
    assert.deepEqual(await got.called, { ok: true });
  });
}

test('a close with 4009 is not retried', async () => {
  const pusher = server.pusher();
  await connected(pusher);
  const down = nextCall('disconnected');
  pusher.connection.bind('disconnected', down);
  await server.disconnect(pusher.connection.socket_id, 4009);
  await down.called;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(pusher.connection.state, 'disconnected');
});

test('signin, sendToUser and terminateUserConnections', async () => {
  const token = await server.token('7', 'Grace');
  const pusher = server.pusher(token);
  await connected(pusher);
  pusher.signin();
  await withTimeout(pusher.user.signinDonePromise, 5000, 'signin');
  assert.equal(pusher.user.user_data.id, '7');
  const sdk = server.sdk();
  const got = nextCall('user event');
  pusher.user.bind('Notice', got);
  await server.settled('#server-to-user-7', pusher.connection.socket_id);
  const res = await sdk.sendToUser('7', 'Notice', { text: 'hello' });
  assert.equal(res.status, 200);
  assert.deepEqual(await got.called, { text: 'hello' });

  const down = nextCall('disconnected after terminate');
  pusher.connection.bind('disconnected', down);
  const term = await sdk.terminateUserConnections('7');
  assert.equal(term.status, 200);
  await down.called;
});
