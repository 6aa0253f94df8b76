// The shipped native client (broadcast/jsclient/velocity.js) in Node, with
// ws as its WebSocket, against the Go server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startServer, collector, nextCall } from './helpers.mjs';

globalThis.WebSocket ??= WebSocket;
const source = readFileSync(new URL('../../../broadcast/jsclient/velocity.js', import.meta.url), 'utf8');
const { Velocity, CloseCodes } = await import('data:text/javascript,' + encodeURIComponent(source));

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

// 4202: the node lost its broker subscriptions for a while and may have
// missed messages (see the README). The client reconnects, resubscribes
// and calls subscribed() again, where an app refetches its state.
test('reconnects after 4202 (resync) and resubscribes', async () => {
  assert.equal(CloseCodes.RESYNC, 4202);
  const velocity = new Velocity({ url: `ws://${server.host}:${server.port}/ws` });
  try {
    const subscribed = collector();
    const channel = velocity.channel('resync-room').subscribed(subscribed);
    await subscribed.waitFor(1, 'first subscription');
    const first = velocity.connector.socketId;
    const down = nextCall('disconnected');
    velocity.connector.on('disconnected', down);
    await server.disconnect(first, 4202);
    assert.equal((await down.called).code, CloseCodes.RESYNC);
    await subscribed.waitFor(2, 'resubscription after 4202');
    assert.notEqual(velocity.connector.socketId, first);
    await server.settled('resync-room', velocity.connector.socketId);
    const got = nextCall('event after the resync');
    channel.listen('.AfterResync', got);
    await server.emit(['resync-room'], 'AfterResync', { ok: true });
    assert.deepEqual(await got.called, { ok: true });
  } finally {
    velocity.disconnect();
  }
});
