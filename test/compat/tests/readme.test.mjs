// The README's laravel-echo snippet, run as written against the Go server
// with the real laravel-echo and pusher-js packages. The harness only
// supplies what a page would: window, location, localStorage (where the
// snippet reads the token) and a console whose log calls it watches, and
// it binds the snippet's imports to the installed packages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, withTimeout, connected } from './helpers.mjs';

const README = new URL('../../../README.md', import.meta.url);

// snippet returns the fenced block of lang after <!-- test: name -->.
function snippet(markdown, name, lang) {
  const marker = `<!-- test: ${name} -->`;
  const parts = markdown.replace(/\r\n/g, '\n').split(marker);
  assert.equal(parts.length, 2, `README.md must have exactly one ${marker}`);
  const m = parts[1].match(new RegExp('^\\n*```' + lang + '\\n([\\s\\S]*?)\\n```\\n'));
  assert.ok(m, `${marker} must be followed by a \`\`\`${lang} block`);
  return m[1];
}

// evaluate runs code with the given globals. Its default imports
// (import X from 'pkg') are bound to the packages installed here.
async function evaluate(code, globals) {
  const imports = [];
  const body = code.replace(/^import\s+(\w+)\s+from\s+'([^']+)';?[ \t]*$/gm, (_, name, pkg) => {
    imports.push({ name, pkg });
    return '';
  });
  assert.doesNotMatch(body, /^\s*import\b/m, 'the snippet may only use default imports');
  const modules = await Promise.all(imports.map(({ pkg }) => import(pkg)));
  const names = [...Object.keys(globals), ...imports.map(({ name }) => name)];
  const values = [...Object.values(globals), ...modules.map((m) => m.default)];
  const AsyncFunction = (async () => {}).constructor;
  await new AsyncFunction(...names, body)(...values);
}

// recorder is a console that keeps every log call; logged(label) resolves
// with the second argument of the first call whose first one is label.
function recorder() {
  const calls = [];
  const waiters = [];
  return {
    calls,
    log(...args) {
      calls.push(args);
      for (const w of [...waiters]) {
        if (args[0] === w.label) { waiters.splice(waiters.indexOf(w), 1); w.resolve(args[1]); }
      }
    },
    logged(label) {
      const found = calls.find((args) => args[0] === label);
      if (found) return Promise.resolve(found[1]);
      return withTimeout(new Promise((resolve) => waiters.push({ label, resolve })), 5000, `console.log('${label}', …)`);
    },
  };
}

let server;
let window;
before(async () => {
  process.env.BROADCAST_APP_KEY = 'velocity-key'; // the key the snippet uses (the product's default)
  server = await startServer();
});
after(async () => {
  window?.Echo?.disconnect();
  await server?.stop();
});

test('README laravel-echo snippet: public, private and presence channels as written', async () => {
  const code = snippet(readFileSync(README, 'utf8'), 'laravel-echo', 'js');
  const token = await server.token('42', 'Ann');
  const storage = new Map([['token', token]]);
  const console = recorder();
  window = {};
  await evaluate(code, {
    window,
    location: {
      protocol: 'http:', hostname: server.host, port: String(server.port),
      host: `${server.host}:${server.port}`, origin: server.base, href: `${server.base}/`,
    },
    localStorage: { getItem: (k) => storage.get(k) ?? null },
    console,
  });

  assert.ok(window.Echo, 'the snippet sets window.Echo');
  await connected(window.Echo.connector.pusher);
  const socketId = window.Echo.socketId();

  // Presence: authorized through /broadcasting/auth with the token, and
  // the member info comes back in here().
  assert.deepEqual(await console.logged('online'), [{ id: '42', name: 'Ann' }]);

  // Public channel: an event emitted by the server reaches the listener.
  await server.settled('orders', socketId);
  await server.emit(['orders'], 'OrderShipped', { order_id: 7, tracking: 'ABC123' });
  assert.deepEqual(await console.logged('shipped'), { order_id: 7, tracking: 'ABC123' });

  // Private channel: authorized with the Bearer token, then it receives.
  await server.settled('private-user.42', socketId);
  await server.emit(['private-user.42'], 'AccountUpdate', { balance: 1500 });
  assert.deepEqual(await console.logged('account'), { balance: 1500 });
});
