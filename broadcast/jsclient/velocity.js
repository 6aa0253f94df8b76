/**
 * Velocity Broadcast — browser client for the native protocol.
 *
 * A dependency-free ES module with an API that Laravel Echo users know:
 *
 *   import { Velocity } from '/broadcasting/client.js';
 *
 *   const velocity = new Velocity({
 *     tokenProvider: async () => (await fetch('/token', {method: 'POST'})).json().then((r) => r.token),
 *   });
 *   velocity.channel('orders').listen('.OrderShipped', (e) => console.log(e));
 *   velocity.private('user.7').listen('NewNotification', (n) => toast(n.title));
 *   velocity.join('chat.general')
 *     .here((users) => render(users))
 *     .joining((user) => add(user))
 *     .leaving((user) => remove(user))
 *     .listenForWhisper('typing', (e) => showTyping(e.name));
 *
 *   // A channel with history (server-side BROADCAST_HISTORY / WithHistory)
 *   // recovers what it missed while offline; when it cannot, reload:
 *   const orders = velocity.channel('orders')
 *     .subscribed(({ recovered }) => { if (recovered === false) reloadOrders(); })
 *     .listen('OrderShipped', (e) => show(e));
 *   const { publications, offset, epoch } = await orders.history(50); // oldest first
 *
 * Wire format: one JSON object per text frame, see "The native protocol"
 * in the README
 * ("The native protocol"). The connection carries the user's JWT as
 * ?token=…; private and presence subscriptions are signed by POST
 * authEndpoint (default /broadcasting/auth). The client reconnects by itself
 * with exponential backoff and jitter, resubscribes every channel
 * (re-authorizing private and presence ones with a fresh token) and, when a
 * tokenProvider is given, extends the connection's token before it expires
 * with a `refresh` frame.
 *
 * Recovery: on a channel with history every event carries its stream
 * position (offset, epoch). The channel keeps the last one it delivered and
 * resubscribes with {since: {offset, epoch}}; the server then replays what
 * was missed, in order, before live events, and subscribed(cb) gets
 * {recovered: true}. {recovered: false} (the epoch changed, or the missed
 * events are no longer retained) means nothing was replayed: the app must
 * reload its state (from its own API, or with channel.history(limit)).
 * `recovered` is undefined on a first subscription and on channels without
 * history. An event at or below the last delivered offset of the same epoch
 * is dropped, so a replay never shows an event twice.
 */

const PRIVATE_PREFIX = 'private-';
const PRESENCE_PREFIX = 'presence-';
const WHISPER_PREFIX = 'client-';
const MAX_HISTORY_LIMIT = 10000; // the server's bound of a history request

/** Error codes the server answers a history request with. */
const HISTORY_ERRORS = new Set([4301, 4401, 4405, 4412, 4500]);

/** Close codes of the protocol the client acts on (see codes.go). */
export const CloseCodes = Object.freeze({
  UNAUTHORIZED: 4009, // handshake refused: origin or credentials
  OVER_CAPACITY: 4100, // retry after backoff
  USER_OVER_CAPACITY: 4101, // the user has too many connections: retry after backoff
  SHUTDOWN: 4200, // server restarting: reconnect soon
  PONG_TIMEOUT: 4201,
  RESYNC: 4202, // the node may have missed messages: the client reconnects and resubscribes (channels with history recover; others: refetch state)
  TOKEN_EXPIRED: 4407, // the connection's JWT expired
  SLOW_CONSUMER: 4408,
});

/** Connection states, in the order a connection usually walks them. */
export const States = Object.freeze({
  INITIALIZED: 'initialized',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  DISCONNECTED: 'disconnected', // the socket closed; a retry follows unless disconnect() was called
  RECONNECTING: 'reconnecting', // a retry is scheduled
  FAILED: 'failed', // gave up: no usable credentials (token refused and no tokenProvider)
});

const DEFAULTS = {
  url: null, // ws(s)://<page host>/ws
  token: null,
  tokenProvider: null, // async () => 'jwt' | null (null: signed out, stop)
  authEndpoint: '/broadcasting/auth', // null: send the JWT itself as the subscription auth
  authHeaders: {},
  authorizer: null, // async (channelName, socketId) => ({auth, channel_data})
  autoConnect: true,
  minDelay: 500, // first reconnect delay (ms)
  maxDelay: 15000, // reconnect delay cap (ms)
  pongTimeout: 10000, // ms to wait for any frame after our ping
  refreshLead: 60000, // refresh the token this long before it expires (at most 20% of its life)
  debug: false,
};

/** Minimal event emitter used by the connector and the channels. */
class Emitter {
  constructor() {
    this._handlers = new Map();
  }

  on(name, cb) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(cb);
    return this;
  }

  off(name, cb) {
    if (!cb) this._handlers.delete(name);
    else this._handlers.get(name)?.delete(cb);
    return this;
  }

  emit(name, ...args) {
    for (const cb of [...(this._handlers.get(name) || [])]) {
      try {
        cb(...args);
      } catch (err) {
        console.error(`velocity: a "${name}" callback threw`, err);
      }
    }
  }
}

/** Strips Echo's leading "." (a fully qualified event name) — we have no namespaces. */
function eventName(event) {
  return event.startsWith('.') || event.startsWith('\\') ? event.slice(1) : event;
}

/** Reads the claims of a JWT without verifying it (only to know exp/iat). */
function jwtClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return {};
  }
}

/** The default endpoint: /ws on the page's own host. */
function defaultURL() {
  const loc = globalThis.location;
  if (!loc) throw new Error('velocity: the url option is required outside a browser page');
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/** An error for channel and connection callbacks: {type, code, status, message}. */
function failure(type, fields) {
  return Object.assign({ type, code: null, status: null, message: '' }, fields);
}

/** The Error a history() promise rejects with: {message, code, channel}. */
function historyError(code, message, channel) {
  return Object.assign(new Error(message || 'history request failed'), { code: code ?? null, channel });
}

/**
 * Connector owns the WebSocket: connecting, the state machine, backoff,
 * heartbeats, token refresh and routing frames to channels. Listen to it
 * with velocity.connector.on('connected' | 'disconnected' | 'reconnecting'
 * | 'connecting' | 'failed' | 'state_change' | 'refreshed' | 'error', cb).
 */
export class Connector extends Emitter {
  constructor(options, channels) {
    super();
    this.options = options;
    this.channels = channels; // Map name → Channel, shared with Velocity
    this.state = States.INITIALIZED;
    this.socketId = null;
    this.attempt = 0; // consecutive failed attempts, drives the backoff
    this.generation = 0; // bumps with every socket; async work checks it
    this._ws = null;
    this._token = options.token || null;
    this._stopped = true;
    this._timers = {};
    this._history = new Map(); // channel name → history requests sent on this socket, in order
    this._onOnline = () => {
      if (this.state === States.RECONNECTING) this._connectNow();
    };
  }

  log(...args) {
    if (this.options.debug) console.debug('velocity:', ...args);
  }

  /** Opens the connection (no-op when already open or opening). */
  connect() {
    if (!this._stopped) return;
    this._stopped = false;
    globalThis.addEventListener?.('online', this._onOnline);
    this._open(false);
  }

  /** Closes the connection for good; connect() starts again. */
  disconnect() {
    this._stopped = true;
    globalThis.removeEventListener?.('online', this._onOnline);
    this._clearTimers();
    this._dropSocket(1000, 'client disconnect');
    this.socketId = null;
    const gone = historyError(null, 'velocity: disconnected');
    for (const q of this._history.values()) for (const req of q) req.fail(gone);
    this._history.clear();
    for (const channel of this.channels.values()) {
      channel._reset(); // connect() subscribes them again
      channel._failHistory(gone);
    }
    this._setState(States.DISCONNECTED, { code: 1000, reason: 'client disconnect' });
  }

  /** Sends one frame; returns false when there is no open connection. */
  send(frame) {
    if (this.state !== States.CONNECTED || !this._ws) return false;
    this._ws.send(JSON.stringify(frame));
    return true;
  }

  /** The token to use now: the cached one, or a fresh one when asked. */
  async token(fresh = false) {
    const provider = this.options.tokenProvider;
    if (provider && (fresh || !this._token)) {
      const tok = await provider();
      if (tok == null) throw failure('signed_out', { message: 'tokenProvider returned no token' });
      this._token = String(tok);
    }
    return this._token;
  }

  _setState(state, detail = {}) {
    const previous = this.state;
    this.state = state;
    this.log('state', previous, '→', state, detail);
    this.emit(state, detail);
    this.emit('state_change', { previous, current: state, ...detail });
  }

  async _open(freshToken) {
    const gen = ++this.generation;
    this._setState(States.CONNECTING, { attempt: this.attempt });
    let token = null;
    try {
      token = await this.token(freshToken);
    } catch (err) {
      if (gen !== this.generation || this._stopped) return;
      if (err && err.type === 'signed_out') return this._fail(err);
      this.emit('error', failure('token_error', { message: String(err?.message || err) }));
      return this._retry({ code: 0, reason: 'tokenProvider failed' });
    }
    if (gen !== this.generation || this._stopped) return;
    let ws;
    try {
      let url = this.options.url || defaultURL();
      if (token) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
      ws = new WebSocket(url);
    } catch (err) {
      return this._fail(failure('bad_url', { message: String(err?.message || err) })); // retrying cannot help
    }
    this._ws = ws;
    ws.onmessage = (ev) => this._onFrame(ws, ev.data);
    ws.onclose = (ev) => this._onClose(ws, ev.code, ev.reason);
    ws.onerror = () => this.log('socket error'); // a close event follows
  }

  _onFrame(ws, raw) {
    if (ws !== this._ws) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return this.log('ignoring a non-JSON frame');
    }
    this._armHeartbeat();
    switch (frame.type) {
      case 'connected':
        return this._onConnected(frame.data || {});
      case 'pong':
        return;
      case 'refreshed':
        this._scheduleRefresh(frame.data?.expires_at);
        return this.emit('refreshed', frame.data || {});
    }
    // Errors name their channel in data (history errors, refused whispers).
    const name = frame.channel || (frame.type === 'error' ? frame.data?.channel : null);
    if (name && this._answerHistory(name, frame)) return;
    const channel = name && this.channels.get(name);
    if (channel) return channel._handle(frame);
    if (frame.type === 'error') {
      this.emit('error', failure('error', { code: frame.data?.code, message: frame.data?.message }));
    }
  }

  /** Sends a history request for channel; req waits for its answer. */
  _requestHistory(name, req) {
    if (!this.send({ type: 'history', data: { channel: name, limit: req.limit } })) return false;
    if (!this._history.has(name)) this._history.set(name, []);
    this._history.get(name).push(req);
    return true;
  }

  /**
   * Settles the oldest history request of channel name with frame when it
   * is its answer: the server answers a connection's requests in order, a
   * history frame or an error naming the channel. (A refused whisper with
   * the same code at the same moment could be taken for one.)
   */
  _answerHistory(name, frame) {
    const q = this._history.get(name);
    if (!q) return false;
    const d = frame.data || {};
    if (frame.type === 'history') {
      if (frame.offset !== undefined || !Array.isArray(d.publications)) return false; // an app event called "history"
    } else if (frame.type !== 'error' || !HISTORY_ERRORS.has(d.code)) {
      return false;
    }
    const req = q.shift();
    if (!q.length) this._history.delete(name);
    if (frame.type === 'history') req.done({ publications: d.publications, offset: d.offset, epoch: d.epoch });
    else req.fail(historyError(d.code, d.message, name));
    return true;
  }

  _onConnected(data) {
    this.socketId = data.socket_id;
    this.activityTimeout = (data.activity_timeout || 30) * 1000;
    this.attempt = 0;
    this._setState(States.CONNECTED, { socketId: this.socketId });
    this._armHeartbeat();
    this._scheduleRefresh();
    for (const channel of this.channels.values()) channel._subscribe();
  }

  _onClose(ws, code, reason) {
    if (ws !== this._ws) return;
    this._ws = null;
    this._lost(code, reason);
  }

  /** The socket is gone (closed, or declared dead by the heartbeat). */
  _lost(code, reason) {
    const wasConnected = this.state === States.CONNECTED;
    this.socketId = null;
    this._clearTimers();
    // Unanswered history requests are asked again once their channel is back.
    for (const q of this._history.values()) {
      for (const req of q) if (!req.settled) req.channel._historyWaiting.push(req);
    }
    this._history.clear();
    for (const channel of this.channels.values()) channel._reset();
    if (this._stopped) return;
    this._setState(States.DISCONNECTED, { code, reason });
    // A refused or expired credential is only worth retrying with a new one.
    const authProblem = code === CloseCodes.TOKEN_EXPIRED || (code === CloseCodes.UNAUTHORIZED && !wasConnected);
    if (authProblem && !this.options.tokenProvider) {
      return this._fail(failure('unauthorized', { code, message: reason || 'the server refused the token' }));
    }
    if (authProblem) this._token = null;
    if (code === CloseCodes.SHUTDOWN) this.attempt = 0; // a restart: come back quickly
    this._retry({ code, reason });
  }

  _retry(detail) {
    const base = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2); // "equal jitter"
    this.attempt++;
    this._setState(States.RECONNECTING, { ...detail, attempt: this.attempt, delay });
    this._timers.retry = setTimeout(() => this._connectNow(), delay);
  }

  _connectNow() {
    clearTimeout(this._timers.retry);
    if (!this._stopped) this._open(Boolean(this.options.tokenProvider));
  }

  _fail(err) {
    this._stopped = true;
    this._clearTimers();
    this.emit('error', err);
    this._setState(States.FAILED, err);
  }

  /** Sends a ping after activity_timeout of silence; no answer means a dead socket. */
  _armHeartbeat() {
    clearTimeout(this._timers.idle);
    clearTimeout(this._timers.pong);
    if (this.state !== States.CONNECTED) return;
    this._timers.idle = setTimeout(() => {
      this.send({ type: 'ping' });
      this._timers.pong = setTimeout(() => {
        this.log('no pong: dropping the socket');
        this._dropSocket(4000, 'pong timeout');
        this._lost(CloseCodes.PONG_TIMEOUT, 'pong timeout');
      }, this.options.pongTimeout);
    }, this.activityTimeout);
  }

  /** Plans the refresh frame before the token's expiry (tokenProvider only). */
  _scheduleRefresh(expiresAt) {
    clearTimeout(this._timers.refresh);
    if (!this.options.tokenProvider || !this._token) return;
    const claims = jwtClaims(this._token);
    const exp = (expiresAt || claims.exp) * 1000;
    if (!exp) return;
    const life = exp - (claims.iat ? claims.iat * 1000 : Date.now());
    const lead = Math.min(this.options.refreshLead, life * 0.2);
    const wait = Math.max(1000, exp - lead - Date.now());
    this._timers.refresh = setTimeout(() => this._refresh(), wait);
  }

  async _refresh() {
    const gen = this.generation;
    try {
      const token = await this.token(true);
      if (gen !== this.generation) return;
      this.send({ type: 'refresh', data: { token } });
    } catch (err) {
      if (gen !== this.generation) return;
      this.emit('error', failure('token_error', { message: String(err?.message || err) }));
      // Try again a little later; at expiry the server closes with 4407.
      if (!(err && err.type === 'signed_out')) this._timers.refresh = setTimeout(() => this._refresh(), 5000);
    }
  }

  _dropSocket(code, reason) {
    const ws = this._ws;
    this._ws = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closing */
    }
  }

  _clearTimers() {
    for (const t of Object.values(this._timers)) clearTimeout(t);
    this._timers = {};
  }
}

/**
 * Channel is a public channel: listen for events the server emits on it.
 * Callbacks survive reconnects; the channel resubscribes by itself.
 */
export class Channel {
  constructor(name, velocity) {
    this.name = name;
    this.velocity = velocity;
    this.state = 'unsubscribed'; // subscribing | subscribed | failed
    this.events = new Emitter();
    this._attempt = 0;
    this._position = null; // {offset, epoch} of the last event delivered (channels with history)
    this._recovery = {}; // what the subscribed callbacks got last: {recovered}
    this._historyWaiting = []; // history requests waiting for the subscription
  }

  /** Calls cb(data, frame) for every `event` ("OrderShipped" or ".OrderShipped"). */
  listen(event, cb) {
    this.events.on('event:' + eventName(event), cb);
    return this;
  }

  /** Calls cb(event, data) for every event on the channel. */
  listenToAll(cb) {
    this.events.on('*', cb);
    return this;
  }

  /** Removes one callback of an event, or all of them. */
  stopListening(event, cb) {
    this.events.off('event:' + eventName(event), cb);
    return this;
  }

  /**
   * Calls cb({recovered}) after each successful (re)subscription, now too
   * if already subscribed. recovered is true when a resubscription got back
   * every event missed meanwhile (replayed right after this call), false
   * when it could not (the app must reload its state, e.g. from its API or
   * with history()), undefined on a first subscription or a channel without
   * history.
   */
  subscribed(cb) {
    this.events.on('subscribed', cb);
    if (this.state === 'subscribed') cb({ ...this._recovery });
    return this;
  }

  /**
   * Resolves to the channel's last limit retained publications (every one
   * for 0), {publications: [{event, data, offset}], offset, epoch}, oldest
   * first, with the stream's position; rejects with an Error carrying the
   * protocol code (4412 no history on this channel, 4301 rate limited,
   * 4400 bad limit) or code null when the channel is left or the client
   * disconnected. A request made before the subscription succeeds, or lost
   * with a connection, is sent once the channel is subscribed.
   */
  history(limit = 0) {
    return new Promise((resolve, reject) => {
      if (!Number.isInteger(limit) || limit < 0 || limit > MAX_HISTORY_LIMIT) {
        return reject(historyError(4400, `history: limit must be an integer 0..${MAX_HISTORY_LIMIT}`, this.name));
      }
      if (this.velocity.channels.get(this.name) !== this) {
        return reject(historyError(null, `velocity: ${this.name} was left`, this.name));
      }
      const req = { channel: this, limit, settled: false };
      req.done = (v) => req.settled || ((req.settled = true), resolve(v));
      req.fail = (e) => req.settled || ((req.settled = true), reject(e));
      if (this.state !== 'subscribed' || !this.connector._requestHistory(this.name, req)) this._historyWaiting.push(req);
    });
  }

  /** Calls cb({type, code, status, message}) when a subscription or a channel action fails. */
  error(cb) {
    this.events.on('error', cb);
    return this;
  }

  /** Leaves the channel (as Echo's leaveChannel). */
  leave() {
    this.velocity.leaveChannel(this.name);
  }

  get connector() {
    return this.velocity.connector;
  }

  /** The subscribe frame's data; private channels add their auth. */
  async _subscription() {
    return { channel: this.name };
  }

  async _subscribe() {
    if (this.state === 'subscribing' || this.state === 'subscribed') return;
    const gen = this.connector.generation;
    const attempt = ++this._attempt;
    this.state = 'subscribing';
    let data;
    try {
      data = await this._subscription();
    } catch (err) {
      if (gen !== this.connector.generation || attempt !== this._attempt) return;
      this.state = 'failed';
      return this.events.emit('error', err && err.type ? err : failure('auth_error', { message: String(err) }));
    }
    // A reconnect or a leave() while we were authorizing: that attempt is void.
    if (gen !== this.connector.generation || attempt !== this._attempt || !this.velocity.channels.has(this.name)) return;
    if (this._position) data.since = { ...this._position }; // recover what was missed
    this.connector.send({ type: 'subscribe', data });
  }

  _unsubscribe() {
    this._attempt++;
    if (this.state === 'subscribed' || this.state === 'subscribing') {
      this.connector.send({ type: 'unsubscribe', data: { channel: this.name } });
    }
    this.state = 'unsubscribed';
    const left = historyError(null, `velocity: ${this.name} was left`, this.name);
    this._failHistory(left);
    for (const req of this.connector._history.get(this.name) || []) if (req.channel === this) req.fail(left); // their answers are dropped
  }

  /** Rejects the history requests waiting for a subscription. */
  _failHistory(err) {
    const waiting = this._historyWaiting;
    this._historyWaiting = [];
    for (const req of waiting) req.fail(err);
  }

  /** The connection dropped: the server forgot the subscription. */
  _reset() {
    this._attempt++;
    this.state = 'unsubscribed';
  }

  _handle(frame) {
    switch (frame.type) {
      case 'subscription_succeeded': {
        const data = frame.data || {};
        this.state = 'subscribed';
        this._track(data);
        this._recovery = { recovered: data.recovered };
        this._subscribed(data);
        const waiting = this._historyWaiting;
        this._historyWaiting = [];
        for (const req of waiting) if (!req.settled && !this.connector._requestHistory(this.name, req)) this._historyWaiting.push(req);
        return this.events.emit('subscribed', { ...this._recovery });
      }
      case 'subscription_error': {
        this.state = 'failed';
        const err = failure('subscription_error', { code: frame.data?.code, message: frame.data?.error });
        this._failHistory(historyError(err.code, err.message, this.name));
        return this.events.emit('error', err);
      }
      case 'error':
        return this.events.emit('error', failure('error', { code: frame.data?.code, message: frame.data?.message }));
      case 'history':
        if (frame.offset === undefined && Array.isArray(frame.data?.publications)) return; // an answer nobody waits for any more
      // fall through: an app event called "history"
      default:
        if (typeof frame.offset === 'number' && !this._advance(frame)) return;
        this.events.emit('event:' + frame.type, frame.data, frame);
        this.events.emit('*', frame.type, frame.data, frame);
    }
  }

  /**
   * Sets the position from a subscription's acknowledgement. After a
   * recovery the replayed events follow and move it on from our since;
   * otherwise live events start after the stream's position.
   */
  _track(data) {
    if (typeof data.offset !== 'number') {
      this._position = null; // no history on this channel (any more)
    } else if (!(data.recovered === true && (this._position?.epoch === data.epoch || this._position?.epoch === ''))) {
      // ('' is the epoch of a channel that had stored nothing yet: its
      // first publications are what a recovery from it replays.)
      this._position = { offset: data.offset, epoch: data.epoch };
    }
  }

  /** Moves the position to an event's; false for one already delivered. */
  _advance(frame) {
    const pos = this._position;
    if (pos && frame.epoch === pos.epoch && frame.offset <= pos.offset) {
      this.connector.log('dropping', this.name, frame.type, 'at', frame.offset, '(delivered already)');
      return false;
    }
    this._position = { offset: frame.offset, epoch: frame.epoch };
    if (pos && pos.epoch && frame.epoch !== pos.epoch) {
      // The channel's history was lost while subscribed: events may be missing.
      this.connector.log(this.name, 'epoch', pos.epoch, '→', frame.epoch);
      queueMicrotask(() => this.events.emit('subscribed', { recovered: false }));
    }
    return true;
  }

  _subscribed() {}
}

/** PrivateChannel needs authorization and can whisper (client events). */
export class PrivateChannel extends Channel {
  /** Sends a client event "client-<event>" to the other subscribers. */
  whisper(event, data) {
    if (this.state === 'subscribed') {
      this.connector.send({ type: WHISPER_PREFIX + event, channel: this.name, data });
    }
    return this;
  }

  /** Calls cb(data, {userId}) for each whisper `event` from another connection. */
  listenForWhisper(event, cb) {
    return this.listen('.' + WHISPER_PREFIX + event, (data, frame) => cb(data, { userId: frame.user_id }));
  }

  /** Stops every callback of a whisper. */
  stopListeningForWhisper(event) {
    return this.stopListening('.' + WHISPER_PREFIX + event);
  }

  async _subscription() {
    const opts = this.velocity.options;
    const socketId = this.connector.socketId;
    if (opts.authorizer) return { channel: this.name, ...(await opts.authorizer(this.name, socketId)) };
    if (!opts.authEndpoint) {
      const token = await this.connector.token();
      return token ? { channel: this.name, auth: token } : { channel: this.name };
    }
    let res = await this._authRequest(await this.connector.token(), socketId);
    if (res.status === 401 && opts.tokenProvider) {
      res = await this._authRequest(await this.connector.token(true), socketId); // stale token: once more
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw failure('auth_error', { status: res.status, code: body.error || null, message: body.message || res.statusText });
    }
    return { channel: this.name, auth: body.auth, ...(body.channel_data ? { channel_data: body.channel_data } : {}) };
  }

  _authRequest(token, socketId) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json', ...this.velocity.options.authHeaders };
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(this.velocity.options.authEndpoint, {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: JSON.stringify({ socket_id: socketId, channel_name: this.name }),
    });
  }
}

/** PresenceChannel knows who else is subscribed: here / joining / leaving. */
export class PresenceChannel extends PrivateChannel {
  constructor(name, velocity) {
    super(name, velocity);
    this._members = new Map(); // user_id → user_info
  }

  /** Calls cb(users) with everyone present after each (re)subscription. */
  here(cb) {
    this.events.on('here', cb);
    if (this.state === 'subscribed') cb(this.members());
    return this;
  }

  /** Calls cb(user, member) when a user's first connection joins. */
  joining(cb) {
    this.events.on('joining', cb);
    return this;
  }

  /** Calls cb(user, member) when a user's last connection leaves. */
  leaving(cb) {
    this.events.on('leaving', cb);
    return this;
  }

  /** The users present now (their user_info, or {id} without one). */
  members() {
    return [...this._members].map(([id, info]) => info ?? { id });
  }

  _subscribed(data) {
    this._members = new Map((data.members || []).map((m) => [String(m.user_id), m.user_info]));
    this.events.emit('here', this.members());
  }

  _handle(frame) {
    const member = frame.data || {};
    const id = String(member.user_id);
    if (frame.type === 'member_added') {
      this._members.set(id, member.user_info);
      return this.events.emit('joining', member.user_info ?? { id }, member);
    }
    if (frame.type === 'member_removed') {
      const info = this._members.get(id);
      this._members.delete(id);
      return this.events.emit('leaving', info ?? { id }, member);
    }
    super._handle(frame);
  }

  _reset() {
    super._reset();
    this._members.clear();
  }
}

/** Velocity is the entry point, shaped like Laravel Echo. */
export class Velocity {
  /**
   * @param {object} options
   * @param {string} [options.url] WebSocket URL (default ws(s)://<page host>/ws)
   * @param {string} [options.token] the user's JWT
   * @param {() => Promise<string|null>} [options.tokenProvider] returns a fresh JWT
   *   (on every reconnect and before expiry); null means signed out
   * @param {string|null} [options.authEndpoint] signs private/presence subscriptions
   *   (default /broadcasting/auth; null sends the JWT itself as the auth)
   * @param {object} [options.authHeaders] extra headers for the auth request
   * @param {Function} [options.authorizer] async (channel, socketId) => ({auth, channel_data})
   * @param {number} [options.minDelay] first reconnect delay in ms (500)
   * @param {number} [options.maxDelay] longest reconnect delay in ms (15000)
   */
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.channels = new Map();
    this.connector = new Connector(this.options, this.channels);
    if (this.options.autoConnect) this.connect();
  }

  /** A public channel. */
  channel(name) {
    return this._channel(name, Channel);
  }

  /** A private channel: private("user.7") is "private-user.7". */
  private(name) {
    return this._channel(name.startsWith(PRIVATE_PREFIX) ? name : PRIVATE_PREFIX + name, PrivateChannel);
  }

  /** A presence channel: join("chat.general") is "presence-chat.general". */
  join(name) {
    return this._channel(name.startsWith(PRESENCE_PREFIX) ? name : PRESENCE_PREFIX + name, PresenceChannel);
  }

  /** Shortcut: listen(channel, event, cb) on a public channel. */
  listen(channel, event, cb) {
    return this.channel(channel).listen(event, cb);
  }

  /** Leaves name, private-name and presence-name (as Echo's leave). */
  leave(name) {
    for (const n of [name, PRIVATE_PREFIX + name, PRESENCE_PREFIX + name]) this.leaveChannel(n);
  }

  /** Leaves exactly the channel called name. */
  leaveChannel(name) {
    const channel = this.channels.get(name);
    if (!channel) return;
    this.channels.delete(name);
    channel._unsubscribe();
  }

  /** Leaves every channel. */
  leaveAllChannels() {
    for (const name of [...this.channels.keys()]) this.leaveChannel(name);
  }

  /** The connection's socket id, for the X-Socket-ID header (null while offline). */
  socketId() {
    return this.connector.socketId;
  }

  /** The connection state (see States). */
  connectionStatus() {
    return this.connector.state;
  }

  /** Calls cb({previous, current, ...detail}) on every state change; returns an unsubscribe function. */
  onStateChange(cb) {
    this.connector.on('state_change', cb);
    return () => this.connector.off('state_change', cb);
  }

  /** Opens the connection (done by the constructor unless autoConnect is false). */
  connect() {
    this.connector.connect();
  }

  /** Closes the connection and stops reconnecting. */
  disconnect() {
    this.connector.disconnect();
  }

  _channel(name, Kind) {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new Kind(name, this);
      this.channels.set(name, channel);
      if (this.connector.state === States.CONNECTED) channel._subscribe();
    }
    return channel;
  }
}

export default Velocity;
