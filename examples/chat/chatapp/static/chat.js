// The chat page: sign-in, rooms as presence channels, typing whispers,
// messages over HTTP and mention notifications on the user's private
// channel. User data is only ever written with textContent.
import { Velocity } from '/broadcasting/client.js';
import { $, el, avatar, timeOf, showToast } from '/ui.js';

const SESSION_KEY = 'velocity-chat-session';
const TYPING_EVERY = 1500; // ms between typing whispers while typing
const TYPING_SHOWN = 4000; // ms a typing indicator stays without news

const state = {
  session: null, // {token, expires_at, user: {id, name}}
  velocity: null,
  rooms: [],
  room: null,
  channel: null,
  online: new Map(), // user id → name
  typing: new Map(), // user id → {name, timer}
  seen: new Set(), // message ids shown, so nothing shows twice
  lastTyping: 0,
  localSeq: 0,
};

// ---- API ---------------------------------------------------------------

/** Calls the JSON API; throws an Error with status and code on failure. */
async function api(path, { method = 'GET', body, headers = {}, auth = true } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (auth && state.session) h.Authorization = 'Bearer ' + state.session.token;
  const res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message || res.statusText || 'request failed');
    Object.assign(err, { status: res.status, code: data.error });
    throw err;
  }
  return data;
}

function saveSession(session) {
  state.session = session;
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

/** The Velocity tokenProvider: a fresh token for the same user, or null when signed out. */
async function freshToken() {
  try {
    saveSession(await api('/token', { method: 'POST' }));
    return state.session.token;
  } catch (err) {
    if (err.status === 401) return null; // expired: the page goes back to sign-in
    throw err; // the server is away: the client retries with backoff
  }
}

// ---- Sign-in -----------------------------------------------------------

function showLogin(message = '') {
  $('chat-view').hidden = true;
  $('me').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message;
  $('name').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const name = $('name').value.trim();
  if (!name) {
    $('login-error').textContent = 'Please enter a display name.';
    return;
  }
  $('login-button').disabled = true;
  try {
    saveSession(await api('/login', { method: 'POST', body: { name }, auth: false }));
    $('login-error').textContent = '';
    await start();
  } catch (err) {
    $('login-error').textContent = err.message;
  } finally {
    $('login-button').disabled = false;
  }
}

function signOut(message) {
  state.velocity?.disconnect();
  state.velocity = null;
  state.channel = null;
  state.room = null;
  saveSession(null);
  renderStatus({ current: 'initialized' });
  showLogin(message);
}

// ---- Connection --------------------------------------------------------

async function start() {
  const me = state.session.user;
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('me').hidden = false;
  $('me-name').textContent = me.name;
  $('me-avatar').replaceWith(Object.assign(avatar(me.id, me.name), { id: 'me-avatar' }));

  state.rooms = (await api('/rooms', { auth: false })).rooms;
  renderRooms();

  const velocity = new Velocity({ token: state.session.token, tokenProvider: freshToken });
  state.velocity = velocity;
  window.velocity = velocity; // handy in the console (and for the browser tests)
  velocity.onStateChange(renderStatus);
  velocity.connector.on('failed', () => signOut('Your session has expired. Please sign in again.'));

  velocity
    .private(`user.${me.id}`)
    .listen('NewNotification', (n) => showToast(n, () => (location.hash = n.room)))
    .error((err) => console.warn('notifications unavailable', err));

  enterRoom(roomFromHash());
}

function renderStatus({ current, delay }) {
  const labels = {
    initialized: 'Offline',
    connecting: 'Connecting…',
    connected: 'Live',
    disconnected: 'Connection lost',
    reconnecting: `Reconnecting${delay ? ` in ${Math.ceil(delay / 1000)}s` : ''}…`,
    failed: 'Signed out',
  };
  $('status').dataset.state = current;
  $('status-text').textContent = labels[current] || current;
  document.body.classList.toggle('offline', current !== 'connected');
}

// ---- Rooms and presence -------------------------------------------------

function roomFromHash() {
  return decodeURIComponent(location.hash.slice(1)) || state.rooms[0];
}

function renderRooms() {
  const nav = $('rooms');
  nav.replaceChildren(
    ...state.rooms.map((r) => {
      const a = el('a', 'room-link', '# ' + r);
      a.href = '#' + encodeURIComponent(r);
      a.dataset.room = r;
      return a;
    }),
  );
}

function enterRoom(room) {
  if (state.channel) state.velocity.leave(`chat.${state.room}`);
  state.room = room;
  state.online.clear();
  state.seen.clear();
  clearTyping();
  $('messages').replaceChildren();
  $('room-title').textContent = '# ' + room;
  $('message').placeholder = `Message #${room} — @name mentions someone`;
  $('room-error').hidden = true;
  $('send-error').textContent = '';
  for (const a of document.querySelectorAll('.room-link')) a.classList.toggle('active', a.dataset.room === room);
  renderOnline();

  state.channel = state.velocity
    .join(`chat.${room}`)
    .here((users) => {
      state.online = new Map(users.map((u) => [String(u.id), u.name]));
      renderOnline();
    })
    .joining((u) => {
      state.online.set(String(u.id), u.name);
      renderOnline();
    })
    .leaving((u) => {
      state.online.delete(String(u.id));
      stopTyping(String(u.id));
      renderOnline();
    })
    .listen('MessageSent', (m) => addMessage(m))
    .listenForWhisper('typing', (e, meta) => onTyping(String(meta.userId || e.id), e.name, e.typing))
    .subscribed(() => {
      $('room-error').hidden = true;
      setComposerEnabled(true);
      loadHistory(room);
    })
    .error((err) => {
      if (err.type === 'error') return console.warn('room:', err.message); // e.g. typing rate limit
      const unknown = err.status === 403 || !state.rooms.includes(room);
      showRoomError(unknown ? `Room “${room}” does not exist. Pick a room on the left.` : `Cannot join #${room}: ${err.message}`);
    });
}

function showRoomError(text) {
  const banner = $('room-error');
  banner.textContent = text;
  banner.hidden = false;
  setComposerEnabled(false);
}

function setComposerEnabled(on) {
  $('message').disabled = !on;
  $('send').disabled = !on;
}

function renderOnline() {
  const me = state.session?.user;
  const users = [...state.online].sort((a, b) => a[1].localeCompare(b[1]));
  $('online').replaceChildren(
    ...users.map(([id, name]) => {
      const li = el('li', 'member');
      li.dataset.userId = id;
      li.append(avatar(id, name), el('span', 'member-name', name));
      if (me && id === me.id) li.append(el('span', 'you', 'you'));
      return li;
    }),
  );
  $('online-count').textContent = String(users.length);
}

// ---- Messages -----------------------------------------------------------

/**
 * Loads the room's last messages (the channel's history) after each
 * (re)subscription and merges them with what is shown, by id and in time
 * order: a reload shows the room, and a reconnect fills what was missed.
 */
async function loadHistory(room) {
  let data;
  try {
    data = await api(`/rooms/${encodeURIComponent(room)}/messages`);
  } catch (err) {
    console.warn('history:', err.message); // shown again at the next subscription
    return;
  }
  if (room !== state.room) return;
  let added = false;
  for (const m of data.messages || []) added = addMessage(m, { history: true }) !== null || added;
  if (!added) return;
  const list = $('messages');
  const items = [...list.children].sort((x, y) => Number(x.dataset.ts) - Number(y.dataset.ts));
  list.replaceChildren(...items);
  list.scrollTop = list.scrollHeight;
}

/** Appends a message; returns its element (null when already shown). */
function addMessage(m, { pending = false, history = false } = {}) {
  if (m.room && m.room !== state.room) return null;
  if (state.seen.has(m.id)) return null;
  state.seen.add(m.id);
  if (!history) stopTyping(String(m.user_id));
  const me = state.session.user;
  const mine = m.user_id === me.id;
  const li = el('li', 'message' + (mine ? ' mine' : '') + (pending ? ' pending' : ''));
  if (!mine && mentionsMe(m.message, me.name)) li.classList.add('mentions-me');
  li.dataset.id = m.id;
  li.dataset.userId = m.user_id;
  li.dataset.ts = String(Date.parse(m.timestamp) || 0);
  const head = el('div', 'message-head');
  head.append(el('span', 'message-name', m.name), el('time', 'message-time', timeOf(m.timestamp)));
  const body = el('div', 'message-body');
  body.append(head, el('p', 'message-text', m.message));
  li.append(avatar(m.user_id, m.name), body);
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(li);
  if (atBottom || mine) list.scrollTop = list.scrollHeight;
  return li;
}

/** Whether text mentions name as @name (as the server decides, case-insensitive). */
function mentionsMe(text, name) {
  const t = text.toLowerCase();
  const at = '@' + name.toLowerCase();
  for (let i = t.indexOf(at); i >= 0; i = t.indexOf(at, i + 1)) {
    if (!/[\p{L}\p{N}_]/u.test(t.charAt(i + at.length))) return true;
  }
  return false;
}

async function onSend(ev) {
  ev.preventDefault();
  const input = $('message');
  const text = input.value.trim();
  $('send-error').textContent = '';
  if (!text) {
    $('send-error').textContent = 'Type a message first.';
    return;
  }
  const me = state.session.user;
  const local = { id: `local-${++state.localSeq}`, room: state.room, user_id: me.id, name: me.name, message: text, timestamp: new Date().toISOString() };
  const li = addMessage(local, { pending: true }); // shown at once; confirmed by the 201
  input.value = '';
  whisperTyping(false);
  const socketId = state.velocity.socketId();
  try {
    const sent = await api(`/rooms/${encodeURIComponent(state.room)}/messages`, {
      method: 'POST',
      body: { message: text },
      headers: socketId ? { 'X-Socket-ID': socketId } : {},
    });
    state.seen.add(sent.id);
    li.dataset.id = sent.id;
    li.classList.remove('pending');
    if (sent.notified?.length) li.querySelector('.message-body').append(el('span', 'note', 'Notified ' + sent.notified.map((n) => '@' + n).join(', ')));
  } catch (err) {
    li.classList.replace('pending', 'failed');
    li.querySelector('.message-body').append(el('span', 'note', 'Not sent: ' + err.message));
    $('send-error').textContent = err.message;
    if (err.status === 401) signOut('Your session has expired. Please sign in again.');
  }
}

// ---- Typing indicator (whispers) -----------------------------------------

function onInput() {
  const typing = $('message').value.trim() !== '';
  if (!typing) return whisperTyping(false);
  if (Date.now() - state.lastTyping > TYPING_EVERY) whisperTyping(true);
}

function whisperTyping(typing) {
  if (!state.channel || (!typing && state.lastTyping === 0)) return;
  const me = state.session.user;
  state.channel.whisper('typing', { id: me.id, name: me.name, typing });
  state.lastTyping = typing ? Date.now() : 0;
}

function onTyping(id, name, typing) {
  stopTyping(id);
  if (!typing) return renderTyping();
  const timer = setTimeout(() => stopTyping(id), TYPING_SHOWN);
  state.typing.set(id, { name: String(name || 'Someone'), timer });
  renderTyping();
}

function stopTyping(id) {
  const t = state.typing.get(id);
  if (!t) return;
  clearTimeout(t.timer);
  state.typing.delete(id);
  renderTyping();
}

function clearTyping() {
  for (const id of [...state.typing.keys()]) stopTyping(id);
  renderTyping();
}

function renderTyping() {
  const names = [...state.typing.values()].map((t) => t.name);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  $('typing').textContent = text;
}

// ---- Boot -----------------------------------------------------------------

$('login-form').addEventListener('submit', onLogin);
$('composer').addEventListener('submit', onSend);
$('message').addEventListener('input', onInput);
$('logout').addEventListener('click', () => signOut(''));
window.addEventListener('hashchange', () => {
  if (state.velocity && roomFromHash() !== state.room) enterRoom(roomFromHash());
});

const saved = loadSession();
if (saved && saved.expires_at * 1000 > Date.now() + 5000) {
  state.session = saved;
  start().catch((err) => signOut('Could not start the chat: ' + err.message));
} else {
  saveSession(null);
  showLogin(saved ? 'Your session has expired. Please sign in again.' : '');
}
