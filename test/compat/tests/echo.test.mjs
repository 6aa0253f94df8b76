// laravel-echo 2 (broadcaster 'pusher', pusher-js underneath) against the Go server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, nextCall, collector, sleep } from './helpers.mjs';

let server;
let alice;
let bob;
before(async () => {
  server = await startServer();
  alice = await server.token('1', 'Alice');
  bob = await server.token('2', 'Bob');
});
after(async () => { await server?.stop(); });

const subscribed = (channel, what) => {
  const ok = nextCall(what);
  channel.subscribed(ok);
  return ok.called;
};

test("Go Emit reaches Echo listen('.OrderShipped') and a native client", async () => {
  const echo = server.echo();
  const native = await server.native();
  await native.subscribe('orders');
  const got = nextCall('OrderShipped');
  const channel = echo.channel('orders').listen('.OrderShipped', got);
  await subscribed(channel, 'orders subscribed');
  await server.settled('orders', echo.socketId(), native.socketId);
  await server.emit(['orders'], 'OrderShipped', { order_id: 12345, tracking: 'ABC123' });
  assert.deepEqual(await got.called, { order_id: 12345, tracking: 'ABC123' });
  const f = await native.next((x) => x.type === 'OrderShipped', 'native OrderShipped');
  assert.deepEqual(f.data, { order_id: 12345, tracking: 'ABC123' });
});

test('private channel authorized by /broadcasting/auth with a Bearer token', async () => {
  const echo = server.echo(alice);
  const got = nextCall('AccountUpdate');
  const channel = echo.private('user.1').listen('.AccountUpdate', got);
  await subscribed(channel, 'private subscribed');
  await server.settled('private-user.1', echo.socketId());
  await server.emit(['private-user.1'], 'AccountUpdate', { balance: 1500 });
  assert.deepEqual(await got.called, { balance: 1500 });
});

test('refused private channels reach .error()', async () => {
  // Refused by the auth endpoint (the authorizer says no): HTTP 403.
  const echo = server.echo(alice);
  const refused = nextCall('error from auth endpoint');
  echo.private('forbidden.1').error(refused);
  const e = await refused.called;
  assert.equal(e.type, 'AuthError');
  assert.equal(e.status, 403);

  // Refused by the WebSocket server (signature not valid for this socket):
  // pusher:subscription_error on the channel.
  const forged = server.echo(null, {
    channelAuthorization: { customHandler: (_params, cb) => cb(null, { auth: `compat-key:${'0'.repeat(64)}` }) },
  });
  const serverRefused = nextCall('error from the server');
  forged.private('orders.9').error(serverRefused);
  const se = await serverRefused.called;
  assert.equal(se.type, 'AuthError');
  assert.equal(se.status, 401);
  assert.equal(forged.connector.pusher.connection.state, 'connected');
});

test('join: here, joining and leaving per user, across connections', async () => {
  const a1 = server.echo(alice);
  const hereA1 = nextCall('here a1');
  const joiningA1 = collector();
  const leavingA1 = collector();
  a1.join('chat.1').here(hereA1).joining(joiningA1).leaving(leavingA1);
  assert.deepEqual(await hereA1.called, [{ id: '1', name: 'Alice' }]);

  const b = server.echo(bob);
  const hereB = nextCall('here b');
  b.join('chat.1').here(hereB);
  const members = await hereB.called;
  assert.deepEqual(members.map((m) => m.name).sort(), ['Alice', 'Bob']);
  assert.deepEqual(await joiningA1.waitFor(1, 'joining Bob'), [{ id: '2', name: 'Bob' }]);

  // Alice's second connection: she is already a member.
  const a2 = server.echo(alice);
  const hereA2 = nextCall('here a2');
  a2.join('chat.1').here(hereA2);
  assert.equal((await hereA2.called).length, 2);
  a2.leave('chat.1');
  a2.disconnect();
  await sleep(300);
  assert.equal(joiningA1.calls.length, 1, 'no joining for a second connection of a member');
  assert.equal(leavingA1.calls.length, 0, 'no leaving while Alice still has a connection');

  b.leave('chat.1');
  assert.deepEqual(await leavingA1.waitFor(1, 'leaving Bob'), [{ id: '2', name: 'Bob' }]);
});

test('whisper reaches listenForWhisper on the other client only', async () => {
  const a = server.echo(alice);
  const b = server.echo(bob);
  const heardByB = nextCall('whisper at b');
  const heardByA = collector();
  const ca = a.join('chat.whisper').listenForWhisper('typing', heardByA);
  const cb = b.join('chat.whisper').listenForWhisper('typing', heardByB);
  await Promise.all([subscribed(ca, 'a joined'), subscribed(cb, 'b joined')]);
  await server.settled('presence-chat.whisper', a.socketId(), b.socketId());
  ca.whisper('typing', { name: 'Alice' });
  assert.deepEqual(await heardByB.called, { name: 'Alice' });
  assert.deepEqual(heardByB.args[1], { user_id: '1' }, 'presence whispers carry user_id');
  await sleep(200);
  assert.equal(heardByA.calls.length, 0, 'the sender does not hear itself');
});

test('toOthers via X-Socket-ID leaves out the sender', async () => {
  const sender = server.echo();
  const other = server.echo();
  const bySender = collector();
  const byOther = nextCall('other got it');
  const cs = sender.channel('room.others').listen('.Moved', bySender);
  const co = other.channel('room.others').listen('.Moved', byOther);
  await Promise.all([subscribed(cs, 'sender'), subscribed(co, 'other')]);
  await server.settled('room.others', sender.socketId(), other.socketId());
  await server.emit(['room.others'], 'Moved', { x: 1 }, sender.socketId());
  assert.deepEqual(await byOther.called, { x: 1 });
  await sleep(200);
  assert.equal(bySender.calls.length, 0);
});
