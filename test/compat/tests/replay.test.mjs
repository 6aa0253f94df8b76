// BROADCAST_PUSHER_REPLAY_PROTECTION with the `pusher` server SDK: each
// signed request is accepted once. The SDK signs with a timestamp in
// seconds, so the same trigger twice within one second is the same signed
// request and the second is refused with 409; a different payload, or a
// later second, is a new request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers.mjs';

let server;
let sdk;
before(async () => {
  process.env.BROADCAST_PUSHER_REPLAY_PROTECTION = 'true';
  server = await startServer();
  sdk = server.sdk();
});
after(async () => { await server?.stop(); });

// atFixedTime runs fn with Date.now frozen, so that every request the SDK
// signs meanwhile carries the same auth_timestamp.
async function atFixedTime(at, fn) {
  const realNow = Date.now;
  Date.now = () => at;
  try { return await fn(); } finally { Date.now = realNow; }
}

test('a replayed trigger is refused with 409, new ones pass', async () => {
  const now = Date.now();
  await atFixedTime(now, async () => {
    const first = await sdk.trigger('replay-orders', 'order.shipped', { id: 1 });
    assert.equal(first.status, 200);
    const other = await sdk.trigger('replay-orders', 'order.shipped', { id: 2 });
    assert.equal(other.status, 200);
    await assert.rejects(sdk.trigger('replay-orders', 'order.shipped', { id: 1 }), (err) => {
      assert.equal(err.status, 409);
      assert.match(err.body, /"error":"replayed_request"/);
      return true;
    });
  });
  await atFixedTime(now + 1000, async () => {
    const later = await sdk.trigger('replay-orders', 'order.shipped', { id: 1 });
    assert.equal(later.status, 200);
  });
  // GETs are never refused as replays.
  await atFixedTime(now, async () => {
    for (let i = 0; i < 2; i++) assert.equal((await sdk.get({ path: '/channels' })).status, 200);
  });
});
