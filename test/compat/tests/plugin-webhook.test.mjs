// BROADCAST_WEBHOOKS on the real server: pusher-js subscribes and leaves,
// and the `pusher` SDK's webhook helper validates what the server sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import PusherServer from 'pusher';
import { APP, startServer, withTimeout } from './helpers.mjs';

const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret });
const hooks = [];
let waiters = [];
const rv = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    hooks.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end();
    waiters.forEach((w) => w());
  });
});

let server;
before(async () => {
  rv.listen(0, '127.0.0.1');
  await once(rv, 'listening');
  process.env.BROADCAST_WEBHOOKS = `http://127.0.0.1:${rv.address().port}/pusher/webhook`;
  server = await startServer();
});
after(async () => {
  await server?.stop();
  rv.close();
});

// events waits until the webhooks received hold n events, and returns them.
async function events(n) {
  const all = () => hooks.flatMap((h) => sdk.webhook(h).getEvents());
  await withTimeout(new Promise((resolve) => {
    const check = () => { if (all().length >= n) { waiters = []; resolve(); } };
    waiters.push(check);
    check();
  }), 10000, `${n} webhook events`);
  return all();
}

test('pusher-js subscribing and leaving makes valid channel_occupied and channel_vacated webhooks', async () => {
  const client = server.pusher(null);
  const channel = client.subscribe('orders');
  await withTimeout(new Promise((resolve) => channel.bind('pusher:subscription_succeeded', resolve)), 10000, 'subscription');
  assert.deepEqual(await events(1), [{ name: 'channel_occupied', channel: 'orders' }]);
  client.unsubscribe('orders');
  assert.deepEqual(await events(2), [
    { name: 'channel_occupied', channel: 'orders' },
    { name: 'channel_vacated', channel: 'orders' },
  ]);
  for (const h of hooks) {
    assert.equal(h.headers['x-pusher-key'], APP.key);
    assert.equal(sdk.webhook(h).isValid(), true, `invalid webhook: ${h.rawBody}`);
  }
});
