// The chat page: sign-in, rooms as presence channels, typing whispers,
// messages over HTTP and mention notifications on the user's private
// channel. User data is only ever written with textContent.
import { Velocity } from '/broadcasting/client.js';
import { $, el, avatar, timeOf, showToast } from '/ui.js';
import { request, isNetworkError, humanError, withRetry } from '/net.js';

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
  connection: 'initialized', // the socket's state (Velocity's state names)
  wasConnected: false, // connected once since sign-in: later losses are "offline"
  subscribed: false, // the room's channel is subscribed on the current connection
  presenceFresh: false, // the online list came from the current subscription
  roomBlocked: false, // the room cannot be joined (its banner says why)
  session$: null, // AbortController of the signed-in session's retries
  history$: null, // AbortController of the running history load
  rejoinTimer: 0,
  rejoinDelay: 1000,
};

// ---- API ---------------------------------------------------------------

/**
 * Calls the JSON API with the session's token; throws an Error with status
 * and code on failure, network: true when the server cannot be reached.
 */
function api(path, { auth = true, ...opts } = {}) {
  return request(path, { ...opts, token: auth ? state.session?.token : undefined });
}

/** Shows a non-blocking notice above the messages ('' hides it). */
function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
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
    $('login-error').textContent = isNetworkError(err) ? 'Can’t reach the server — check your connection and try again.' : humanError(err);
  } finally {
    $('login-button').disabled = false;
  }
}

function signOut(message) {
  state.session$?.abort();
  state.history$?.abort();
  clearTimeout(state.rejoinTimer);
  closePanel();
  showNotice('');
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

  state.session$?.abort();
  const session$ = new AbortController();
  state.session$ = session$;
  state.wasConnected = false;
  renderStatus({ current: 'initialized' });
  let rooms;
  try {
    rooms = await withRetry(() => api('/rooms', { auth: false }), {
      signal: session$.signal,
      onRetry: () => showNotice('Can’t reach the server — retrying…'),
    });
  } catch (err) {
    if (session$.signal.aborted) return; // signed out meanwhile
    throw err;
  }
  showNotice('');
  state.rooms = rooms.rooms;
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
  state.connection = current;
  if (current === 'connected') state.wasConnected = true;
  else {
    state.subscribed = false;
    state.presenceFresh = false;
    state.history$?.abort(); // loaded again at the next subscription
  }
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
  updateAvailability();
}

/**
 * Whether the page can talk to the server now: the socket is connected and
 * the browser is online.
 */
function isLive() {
  return state.connection === 'connected' && navigator.onLine !== false;
}

/**
 * Enables the composer only when a message can be sent (live and in the
 * room) and says why when it cannot; marks the online list as stale while
 * it is not the current subscription's.
 */
function updateAvailability() {
  const live = isLive();
  const ready = live && state.subscribed && !state.roomBlocked;
  document.body.classList.toggle('offline', !live);
  $('message').disabled = !ready;
  $('send').disabled = !ready;
  let note = '';
  const offline = state.wasConnected || navigator.onLine === false;
  if (!live && state.connection !== 'failed') note = offline ? 'Offline — reconnecting… Messages can be sent once the connection is back.' : 'Connecting…';
  else if (live && !ready && !state.roomBlocked && state.room) note = `Joining #${state.room}…`;
  $('composer-note').textContent = note;
  $('composer-note').hidden = !note;
  $('composer').dataset.state = ready ? 'ready' : live ? 'joining' : 'offline';

  const stale = !live || !state.presenceFresh;
  $('online').classList.toggle('stale', stale);
  $('online').toggleAttribute('data-stale', stale);
  $('online-stale').textContent = live ? 'updating…' : 'last known';
  $('online-stale').hidden = !stale || state.roomBlocked;
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
  state.history$?.abort();
  clearTimeout(state.rejoinTimer);
  state.rejoinDelay = 1000;
  state.room = room;
  state.subscribed = false;
  state.presenceFresh = false;
  state.roomBlocked = false;
  state.online.clear();
  state.seen.clear();
  clearTyping();
  closePanel();
  showNotice('');
  $('messages').replaceChildren();
  $('room-title').textContent = '# ' + room;
  $('message').placeholder = `Message #${room} — @name mentions someone`;
  $('room-error').hidden = true;
  $('send-error').textContent = '';
  for (const a of document.querySelectorAll('.room-link')) a.classList.toggle('active', a.dataset.room === room);
  renderOnline();
  joinRoom(room);
}

/** Joins the room's presence channel (again, after a failed authorization). */
function joinRoom(room) {
  state.channel = state.velocity
    .join(`chat.${room}`)
    .here((users) => {
      state.online = new Map(users.map((u) => [String(u.id), u.name]));
      state.presenceFresh = true;
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
      state.roomBlocked = false;
      state.subscribed = true;
      state.presenceFresh = true; // here() has run with the members
      state.rejoinDelay = 1000;
      updateAvailability();
      loadHistory(room);
    })
    .error((err) => {
      if (err.type === 'error') return console.warn('room:', err.message); // e.g. typing rate limit
      if (isNetworkError(err)) return rejoinLater(room); // the authorization request got no answer
      const unknown = err.status === 403 || !state.rooms.includes(room);
      showRoomError(unknown ? `Room “${room}” does not exist. Pick a room from the rooms list.` : `Cannot join #${room}: ${humanError(err)}`);
    });
}

/** Joins room again after a growing delay, while it is still the room shown. */
function rejoinLater(room) {
  showNotice('Can’t reach the server — retrying…');
  clearTimeout(state.rejoinTimer);
  const delay = state.rejoinDelay;
  state.rejoinDelay = Math.min(delay * 2, 8000);
  state.rejoinTimer = setTimeout(() => {
    if (!state.velocity || room !== state.room) return;
    state.velocity.leave(`chat.${room}`);
    joinRoom(room);
  }, delay);
}

function showRoomError(text) {
  const banner = $('room-error');
  banner.textContent = text;
  banner.hidden = false;
  state.roomBlocked = true;
  updateAvailability();
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
  $('online-count-toggle').textContent = String(users.length);
  updateAvailability();
}

// ---- Messages -----------------------------------------------------------

/**
 * Loads the room's last messages (the channel's history) after each
 * (re)subscription and merges them with what is shown, by id and in time
 * order: a reload shows the room, and a reconnect fills what was missed.
 */
async function loadHistory(room) {
  state.history$?.abort();
  const history$ = new AbortController();
  state.history$ = history$;
  let data;
  try {
    data = await withRetry(() => api(`/rooms/${encodeURIComponent(room)}/messages`), {
      signal: history$.signal,
      onRetry: () => showNotice('Can’t reach the server to load the latest messages — retrying…'),
    });
  } catch (err) {
    if (history$.signal.aborted) return; // left the room or lost the connection: loaded again later
    console.warn('history:', err.message); // loaded again at the next subscription
    showNotice('');
    return;
  }
  showNotice('');
  if (room !== state.room || history$.signal.aborted) return;
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
  if (input.disabled) return; // offline or not in the room: the composer note says so
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
    if (isNetworkError(err)) {
      // Not retried by itself: the server may have got it, and a retry could post it twice.
      li.querySelector('.message-body').append(el('span', 'note', 'Not sent — can’t reach the server.'));
      if (!input.value) input.value = text;
      $('send-error').textContent = 'Can’t reach the server — your message is back in the box; send it again once you are online.';
      return;
    }
    li.querySelector('.message-body').append(el('span', 'note', 'Not sent: ' + humanError(err)));
    $('send-error').textContent = humanError(err);
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

// ---- Narrow screens: the rooms and online lists as panels -----------------

/** Opens the rooms or the online panel (narrow screens); again closes it. */
function togglePanel(name) {
  const open = $('chat-view').dataset.panel === name ? '' : name;
  $('chat-view').dataset.panel = open;
  $('toggle-rooms').setAttribute('aria-expanded', String(open === 'rooms'));
  $('toggle-online').setAttribute('aria-expanded', String(open === 'online'));
}

function closePanel() {
  if ($('chat-view').dataset.panel) togglePanel('');
}

// ---- Boot -----------------------------------------------------------------

$('login-form').addEventListener('submit', onLogin);
$('composer').addEventListener('submit', onSend);
$('message').addEventListener('input', onInput);
$('logout').addEventListener('click', () => signOut(''));
$('toggle-rooms').addEventListener('click', () => togglePanel('rooms'));
$('toggle-online').addEventListener('click', () => togglePanel('online'));
$('rooms').addEventListener('click', (ev) => {
  if (ev.target.closest('.room-link')) closePanel();
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') closePanel();
});
window.addEventListener('online', updateAvailability);
window.addEventListener('offline', updateAvailability);
window.addEventListener('hashchange', () => {
  if (state.velocity && roomFromHash() !== state.room) enterRoom(roomFromHash());
});

const saved = loadSession();
if (saved && saved.expires_at * 1000 > Date.now() + 5000) {
  state.session = saved;
  start().catch((err) => signOut('Could not start the chat: ' + humanError(err)));
} else {
  saveSession(null);
  showLogin(saved ? 'Your session has expired. Please sign in again.' : '');
}
