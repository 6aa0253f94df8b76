// BROADCAST_SUBSCRIPTION_COUNT: pusher-js keeps channel.subscriptionCount
// and emits pusher:subscription_count as the channel's count changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers.mjs';

let server;
let alice;
before(async () => {
  process.env.BROADCAST_SUBSCRIPTION_COUNT = 'true';
  server = await startServer();
  alice = await server.token('1', 'Alice');
});
after(async () => { await server?.stop(); });

// countReaches resolves once channel's count is n.
const countReaches = (channel, n) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`subscriptionCount ${channel.subscriptionCount}, want ${n}`)), 5000);
  const check = () => {
    if (channel.subscriptionCount === n) {
      clearTimeout(timer);
      channel.unbind('pusher:subscription_count', check);
      resolve();
    }
  };
  channel.bind('pusher:subscription_count', check);
  check();
});

test('pusher-js: subscriptionCount follows joins and leaves', async () => {
  const one = server.pusher(alice);
  const two = server.pusher(alice);
  const a = one.subscribe('counted');
  two.subscribe('counted');
  await countReaches(a, 2);
  two.unsubscribe('counted');
  await countReaches(a, 1);
});
