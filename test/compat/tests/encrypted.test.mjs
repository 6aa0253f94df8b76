// End-to-end encrypted channels (private-encrypted-…) with
// BROADCAST_ENCRYPTION_MASTER_KEY: laravel-echo's encryptedPrivate() on
// pusher-js decrypts an event emitted from Go, and an event the `pusher`
// server SDK encrypted with the same master key. pusher-js's Node build
// carries the same encrypted-channel code (tweetnacl secretbox) as its
// with-encryption browser build, which needs a DOM to load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PusherServer from 'pusher';
import { startServer, nextCall, APP } from './helpers.mjs';

const MASTER_KEY = Buffer.from([...Array(32).keys()]).toString('base64');

let server;
let alice;
before(async () => {
  process.env.BROADCAST_ENCRYPTION_MASTER_KEY = MASTER_KEY;
  server = await startServer();
  alice = await server.token('1', 'Alice');
});
after(async () => { await server?.stop(); });

const sdk = () => new PusherServer({
  appId: APP.id, key: APP.key, secret: APP.secret, host: server.host, port: String(server.port), useTLS: false,
  encryptionMasterKeyBase64: MASTER_KEY,
});

const subscribed = (channel, what) => {
  const ok = nextCall(what);
  channel.subscribed(ok);
  return ok.called;
};

test('the auth answer matches the pusher SDK: same signature, same shared_secret', async () => {
  const res = await fetch(`${server.base}/broadcasting/auth`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ socket_id: '123.456', channel_name: 'private-encrypted-orders' }),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), sdk().authorizeChannel('123.456', 'private-encrypted-orders'));
});

test("Go Emit reaches Echo encryptedPrivate() and decrypts", async () => {
  const echo = server.echo(alice);
  const got = nextCall('Invoice');
  const channel = echo.encryptedPrivate('orders.1').listen('.Invoice', got);
  await subscribed(channel, 'encrypted subscribed');
  await server.settled('private-encrypted-orders.1', echo.socketId());
  await server.emit(['private-encrypted-orders.1'], 'Invoice', { total: 42, items: ['a', 'b'] });
  assert.deepEqual(await got.called, { total: 42, items: ['a', 'b'] });
});

test('the pusher SDK with the master key publishes an event pusher-js decrypts', async () => {
  const p = server.pusher(alice);
  const got = nextCall('Receipt');
  const channel = p.subscribe('private-encrypted-orders.2');
  channel.bind('Receipt', got);
  const ok = nextCall('encrypted subscribed');
  channel.bind('pusher:subscription_succeeded', ok);
  await ok.called;
  await server.settled('private-encrypted-orders.2', p.connection.socket_id);
  await sdk().trigger('private-encrypted-orders.2', 'Receipt', { paid: true });
  assert.deepEqual(await got.called, { paid: true });
  // pusher-js refuses client events on encrypted channels itself.
  assert.throws(() => channel.trigger('client-x', {}), /not currently supported/);
});

test('one event to an encrypted channel and another is refused', async () => {
  await assert.rejects(server.emit(['private-encrypted-orders.3', 'orders'], 'Invoice', {}), /400/);
});
