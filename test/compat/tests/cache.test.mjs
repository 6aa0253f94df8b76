// Cache channels (cache-…): the real pusher-js and laravel-echo get the
// channel's last event right after subscribing, or pusher:cache_miss, and
// the `pusher` server SDK reads it with info=cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PusherServer from 'pusher';
import { startServer, nextCall, APP } from './helpers.mjs';

let server;
let alice;
before(async () => {
  server = await startServer();
  alice = await server.token('1', 'Alice');
});
after(async () => { await server?.stop(); });

const sdk = () => new PusherServer({
  appId: APP.id, key: APP.key, secret: APP.secret, host: server.host, port: String(server.port), useTLS: false,
});

test('pusher-js: cache_miss first, then the last event for a late subscriber', async () => {
  const first = server.pusher(alice);
  const miss = nextCall('cache miss');
  const channel = first.subscribe('cache-prices');
  channel.bind('pusher:cache_miss', miss);
  await miss.called;
  await server.settled('cache-prices', first.connection.socket_id);
  const live = nextCall('live Price');
  channel.bind('Price', live);
  await sdk().trigger('cache-prices', 'Price', { p: 1 });
  assert.deepEqual(await live.called, { p: 1 });

  const late = server.pusher(alice);
  const cached = nextCall('cached Price');
  late.subscribe('cache-prices').bind('Price', cached);
  assert.deepEqual(await cached.called, { p: 1 });

  const res = await sdk().get({ path: '/channels/cache-prices', params: { info: 'cache' } });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.occupied, true);
  assert.deepEqual(JSON.parse(body.cache.data), { p: 1 });
  assert.ok(body.cache.ttl > 1700 && body.cache.ttl <= 1800, `ttl ${body.cache.ttl}`);
});

test("laravel-echo: Echo.channel('cache-…') gets the event emitted from Go before it subscribed", async () => {
  await server.emit(['cache-rates'], 'RateChanged', { eur: 1.08 });
  const echo = server.echo(alice);
  const got = nextCall('cached RateChanged');
  echo.channel('cache-rates').listen('.RateChanged', got);
  assert.deepEqual(await got.called, { eur: 1.08 });
});
