// Shared helpers: build and start the Go test server (test/compat/server),
// and build pusher-js / laravel-echo / pusher SDK clients pointed at it.
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Pusher from 'pusher-js';
import Echo from 'laravel-echo';
import PusherServer from 'pusher';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
export const APP = { id: 'compat-app', key: 'compat-key', secret: 'compat-secret' };

let binary;
function build() {
  if (!binary) {
    binary = join(mkdtempSync(join(tmpdir(), 'velocity-compat-')), 'server');
    execFileSync('go', ['build', '-o', binary, './server'], { cwd: join(here, '..'), stdio: 'inherit' });
  }
  return binary;
}

// startServer runs the Go server on a free port; call stop() when done.
export async function startServer() {
  const proc = spawn(build(), ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const addr = await withTimeout(new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (\S+)/);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  }), 60000, 'server start');
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const base = `http://${addr}`;
  const clients = [];
  const server = {
    host, port, base,
    async token(sub, name) {
      const res = await fetch(`${base}/test/token?sub=${sub}&name=${encodeURIComponent(name)}`);
      return (await res.json()).token;
    },
    async emit(channels, event, data, socketId) {
      const headers = { 'Content-Type': 'application/json' };
      if (socketId) headers['X-Socket-ID'] = socketId;
      const res = await fetch(`${base}/test/emit`, { method: 'POST', headers, body: JSON.stringify({ channels, event, data }) });
      if (!res.ok) throw new Error(`emit: ${res.status} ${await res.text()}`);
    },
    // settled waits until the server lists every socket id as a subscriber
    // of channel: a client may see subscription_succeeded a moment before
    // the hub delivers to it (see the README).
    async settled(channel, ...socketIds) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const res = await fetch(`${base}/test/clients?channel=${encodeURIComponent(channel)}`);
        const { clients } = await res.json();
        if (socketIds.every((id) => clients.includes(id))) return;
        if (Date.now() > deadline) throw new Error(`${socketIds} not subscribed to ${channel}: ${clients}`);
        await sleep(10);
      }
    },
    async disconnect(socketId, code = 4200) {
      const res = await fetch(`${base}/test/disconnect?socket_id=${socketId}&code=${code}`, { method: 'POST' });
      if (res.status !== 204) throw new Error(`disconnect: ${res.status}`);
    },
    // pusherOptions are what a Laravel app's Echo config passes to pusher-js.
    pusherOptions(token, extra = {}) {
      const headers = token ? { Authorization: `Bearer ${token}` } : {};
      return {
        wsHost: host, wsPort: port, forceTLS: false, enabledTransports: ['ws', 'wss'], cluster: '',
        authEndpoint: `${base}/broadcasting/auth`, auth: { headers },
        userAuthentication: { endpoint: `${base}/broadcasting/user-auth`, transport: 'ajax', headers },
        ...extra,
      };
    },
    pusher(token, extra) {
      const p = new Pusher(APP.key, this.pusherOptions(token, extra));
      clients.push(() => p.disconnect());
      return p;
    },
    echo(token, extra) {
      const echo = new Echo({ broadcaster: 'pusher', Pusher, key: APP.key, ...this.pusherOptions(token, extra) });
      clients.push(() => echo.disconnect());
      return echo;
    },
    sdk() {
      return new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host, port: String(port), useTLS: false });
    },
    // native opens a native-protocol client on /ws; frames collects every
    // frame it gets.
    async native() {
      const ws = new WebSocket(`ws://${addr}/ws`);
      const frames = [];
      const waiters = [];
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        frames.push(f);
        for (const w of [...waiters]) if (w.match(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
      });
      clients.push(() => ws.close());
      const next = (match, what) => {
        const found = frames.find(match);
        if (found) return Promise.resolve(found);
        return withTimeout(new Promise((resolve) => waiters.push({ match, resolve })), 5000, what);
      };
      const hello = await next((f) => f.type === 'connected', 'native connected');
      return {
        socketId: hello.data.socket_id,
        frames,
        async subscribe(channel) {
          ws.send(JSON.stringify({ type: 'subscribe', data: { channel } }));
          await next((f) => f.type === 'subscription_succeeded' && f.channel === channel, 'native subscribed');
        },
        next,
      };
    },
    async stop() {
      for (const close of clients) { try { close(); } catch { /* already closed */ } }
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    },
  };
  return server;
}

// withTimeout rejects when p has not settled after ms.
export function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

// nextCall returns a function to pass as a callback and a promise of the
// first argument of its first call (fn.args holds all of them).
export function nextCall(what, ms = 5000) {
  let resolve;
  const p = new Promise((r) => { resolve = r; });
  const fn = (...args) => { fn.args ??= args; resolve(args[0]); };
  fn.called = withTimeout(p, ms, what);
  return fn;
}

// collector records every call; waitFor resolves when n calls arrived.
export function collector() {
  const calls = [];
  const waiters = [];
  const fn = (arg) => {
    calls.push(arg);
    for (const w of [...waiters]) if (calls.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(calls); }
  };
  fn.calls = calls;
  fn.waitFor = (n, what, ms = 5000) => (calls.length >= n ? Promise.resolve(calls)
    : withTimeout(new Promise((resolve) => waiters.push({ n, resolve })), ms, what));
  return fn;
}

export function connected(pusher) {
  if (pusher.connection.state === 'connected') return Promise.resolve();
  return withTimeout(new Promise((resolve) => pusher.connection.bind('connected', resolve)), 5000, 'connected');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
