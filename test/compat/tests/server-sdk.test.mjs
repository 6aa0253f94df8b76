// The `pusher` server SDK (5.x) publishing and querying through the Pusher
// HTTP API, received by pusher-js, laravel-echo and a native client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connected, nextCall, collector, sleep } from './helpers.mjs';

let server;
let sdk;
before(async () => {
  server = await startServer();
  sdk = server.sdk();
});
after(async () => { await server?.stop(); });

async function subscribe(pusher, name) {
  const channel = pusher.subscribe(name);
  const ok = nextCall(`${name} subscribed`);
  channel.bind('pusher:subscription_succeeded', ok);
  await ok.called;
  await server.settled(name, pusher.connection.socket_id);
  return channel;
}

test('trigger reaches pusher-js, Echo and native clients; socket_id excludes', async () => {
  const p = server.pusher();
  const excluded = server.pusher();
  const echo = server.echo();
  const native = await server.native();
  await native.subscribe('sdk-orders');
  const ch = await subscribe(p, 'sdk-orders');
  const chEx = await subscribe(excluded, 'sdk-orders');
  const byEcho = nextCall('echo');
  const ech = echo.channel('sdk-orders').listen('.order.shipped', byEcho);
  const ok = nextCall('echo subscribed');
  ech.subscribed(ok);
  await ok.called;
  await server.settled('sdk-orders', echo.socketId(), native.socketId);
  const byPusher = nextCall('pusher');
  const byExcluded = collector();
  ch.bind('order.shipped', byPusher);
  chEx.bind('order.shipped', byExcluded);

  const res = await sdk.trigger(['sdk-orders', 'sdk-other'], 'order.shipped', { id: 5 }, { socket_id: excluded.connection.socket_id });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(await byPusher.called, { id: 5 });
  assert.deepEqual(await byEcho.called, { id: 5 });
  const f = await native.next((x) => x.type === 'order.shipped', 'native');
  assert.deepEqual(f.data, { id: 5 });
  await sleep(200);
  assert.equal(byExcluded.calls.length, 0);

  // info attributes come back as a JSON object.
  const withInfo = await sdk.trigger('sdk-orders', 'order.shipped', 'text', { info: 'subscription_count' });
  assert.deepEqual(await withInfo.json(), { channels: { 'sdk-orders': { subscription_count: 4 } } });
});

test('triggerBatch', async () => {
  const p = server.pusher();
  const a = await subscribe(p, 'batch-a');
  const b = await subscribe(p, 'batch-b');
  const gotA = nextCall('a');
  const gotB = nextCall('b');
  a.bind('E1', gotA);
  b.bind('E2', gotB);
  const res = await sdk.triggerBatch([
    { channel: 'batch-a', name: 'E1', data: { n: 1 } },
    { channel: 'batch-b', name: 'E2', data: 'plain' },
  ]);
  assert.equal(res.status, 200);
  assert.deepEqual(await gotA.called, { n: 1 });
  assert.equal(await gotB.called, 'plain');
});

test('get /channels, /channels/:name and /users', async () => {
  const alice = server.echo(await server.token('1', 'Alice'));
  const bob = server.echo(await server.token('2', 'Bob'));
  const here = nextCall('bob here');
  alice.join('lobby').here(() => {});
  await sleep(100);
  bob.join('lobby').here(here);
  await here.called;
  const p = server.pusher();
  await subscribe(p, 'query-public');

  const all = await (await sdk.get({ path: '/channels' })).json();
  assert.ok(all.channels['presence-lobby'] && all.channels['query-public'], JSON.stringify(all));
  const presence = await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  assert.equal(presence.status, 200);
  assert.deepEqual((await presence.json()).channels['presence-lobby'], { user_count: 2 });
  const one = await (await sdk.get({ path: '/channels/query-public', params: { info: 'subscription_count' } })).json();
  assert.deepEqual(one, { occupied: true, subscription_count: 1 });
  const users = await (await sdk.get({ path: '/channels/presence-lobby/users' })).json();
  assert.deepEqual(users, { users: [{ id: '1' }, { id: '2' }] });
});

test('a bad secret is refused with 401', async () => {
  const { default: PusherServer } = await import('pusher');
  const bad = new PusherServer({ appId: 'compat-app', key: 'compat-key', secret: 'wrong', host: server.host, port: String(server.port), useTLS: false });
  await assert.rejects(bad.trigger('x', 'E', {}), (err) => err.status === 401);
});

test('terminateUserConnections closes the signed-in user only', async () => {
  const user = server.pusher(await server.token('9', 'Ida'));
  const other = server.pusher();
  await Promise.all([connected(user), connected(other)]);
  user.signin();
  await user.user.signinDonePromise;
  const down = nextCall('terminated');
  user.connection.bind('disconnected', down);
  assert.equal((await sdk.terminateUserConnections('9')).status, 200);
  await down.called;
  await sleep(200);
  assert.equal(other.connection.state, 'connected');
});
