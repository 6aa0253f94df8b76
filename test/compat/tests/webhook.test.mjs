// Webhooks sent by broadcast/webhook (through server/webhook) checked with
// the `pusher` server SDK's webhook helper: isValid(), getEvents(),
// getTime(), a receiver's retry, and a per-endpoint filter.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import PusherServer from 'pusher';
import { APP, withTimeout } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let binary;
before(() => {
  binary = join(mkdtempSync(join(tmpdir(), 'velocity-webhook-')), 'webhook');
  execFileSync('go', ['build', '-o', binary, './server/webhook'], { cwd: join(here, '..'), stdio: 'inherit' });
});

const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret });
const wrongSecret = new PusherServer({ appId: APP.id, key: APP.key, secret: 'not-the-secret' });

// receiver records every POST per path; answer(path, n) gives the status
// of the n-th request to path (1-based).
async function receiver(answer = () => 200) {
  const requests = {};
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const list = (requests[req.url] ??= []);
      list.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer(req.url, list.length)).end();
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { requests, base: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() };
}

// send runs the Go sender with events on stdin and returns its Stats.
async function send(spec, events) {
  const proc = spawn(binary, ['-webhooks', spec, '-key', APP.key, '-secret', APP.secret], { stdio: ['pipe', 'pipe', 'inherit'] });
  proc.stdin.end(JSON.stringify(events));
  let out = '';
  proc.stdout.on('data', (c) => { out += c; });
  const [code] = await withTimeout(once(proc, 'exit'), 30000, 'webhook sender');
  assert.equal(code, 0, `sender exited with ${code}: ${out}`);
  return JSON.parse(out);
}

const events = [
  { name: 'channel_occupied', channel: 'orders' },
  { name: 'member_added', channel: 'presence-room', user_id: '42' },
  { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"text":"héllo ☃ <b>&"}', socket_id: '123.456' },
  { name: 'client_event', channel: 'presence-room', event: 'client-wave', data: '', socket_id: '1.2', user_id: '42' },
  { name: 'member_removed', channel: 'presence-room', user_id: '42' },
  { name: 'cache_miss', channel: 'cache-prices' },
  { name: 'subscription_count', channel: 'orders', subscription_count: 0 },
  { name: 'subscription_count', channel: 'orders', subscription_count: 3 },
  { name: 'channel_vacated', channel: 'orders' },
];

test('the pusher SDK validates the webhooks and reads every event kind', async () => {
  const rv = await receiver();
  try {
    const start = Date.now();
    const stats = await send(`${rv.base}/all`, events);
    assert.equal(stats.Events, events.length);
    const got = [];
    for (const req of rv.requests['/all']) {
      const hook = sdk.webhook(req);
      assert.equal(hook.isValid(), true, `invalid webhook: ${JSON.stringify(req)}`);
      assert.equal(wrongSecret.webhook(req).isValid(), false, 'valid with the wrong secret');
      const tampered = { ...req, rawBody: req.rawBody.replace('orders', 'ordert') };
      assert.equal(sdk.webhook(tampered).isValid(), false, 'valid after tampering');
      const time = hook.getTime().getTime();
      assert.ok(time >= start - 1000 && time <= Date.now(), `time ${time}`);
      got.push(...hook.getEvents());
    }
    assert.deepEqual(got, events);
  } finally {
    rv.close();
  }
});

test('a receiver failing twice gets each event once, a filtered endpoint only its events', async () => {
  const rv = await receiver((path, n) => (path === '/flaky' && n <= 2 ? 503 : 200));
  try {
    const stats = await send(`${rv.base}/flaky,${rv.base}/lifecycle|channel_occupied+channel_vacated`, events);
    const [flaky, lifecycle] = stats.Endpoints;
    assert.equal(flaky.Retries, 2);
    assert.equal(flaky.Events, events.length);
    const accepted = rv.requests['/flaky'].slice(2);
    assert.ok(accepted.every((r) => sdk.webhook(r).isValid()));
    assert.deepEqual(accepted.flatMap((r) => sdk.webhook(r).getEvents()), events);
    assert.equal(lifecycle.Events, 2);
    const life = rv.requests['/lifecycle'].flatMap((r) => {
      assert.ok(sdk.webhook(r).isValid());
      return sdk.webhook(r).getEvents();
    });
    assert.deepEqual(life, [events[0], events[8]]);
  } finally {
    rv.close();
  }
});
