// Requests of the chat page. A request that never reached the server
// (offline, server down, connection reset) fails with an Error whose
// `network` is true and whose message is written for people: the
// browser's own text ("Failed to fetch", "NetworkError when attempting to
// fetch resource", "Load failed") is never shown.

/** What the page says when the server cannot be reached. */
export const UNREACHABLE = 'Can’t reach the server — check your connection.';

/** The browsers' messages for a request that never got an answer. */
const RAW_NETWORK = /failed to fetch|networkerror|load failed|network request failed|typeerror/i;

/** An Error for a request that got no answer; err.cause keeps the original. */
function networkError(cause) {
  return Object.assign(new Error(UNREACHABLE), { network: true, status: 0, code: 'network', cause });
}

/**
 * Calls the JSON API at path; resolves to the decoded body. Throws an Error
 * with status and code on an HTTP error, and one with network: true when
 * the server cannot be reached.
 */
export async function request(path, { method = 'GET', body, headers = {}, token } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw networkError(err);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    // A proxy in front of a stopped server answers 502/503/504 without our JSON.
    if (res.status >= 502 && res.status <= 504 && !data.error) throw networkError(new Error(res.statusText));
    const err = new Error(data.message || res.statusText || 'request failed');
    Object.assign(err, { status: res.status, code: data.error });
    throw err;
  }
  return data;
}

/** Whether err means the server could not be reached. */
export function isNetworkError(err) {
  if (!err) return false;
  if (err.network) return true;
  return !err.status && RAW_NETWORK.test(String(err.message || err));
}

/** The text to show for err: never a browser's raw exception. */
export function humanError(err) {
  if (isNetworkError(err)) return UNREACHABLE;
  return String(err?.message || err || 'Something went wrong.');
}

/** Resolves after ms, or at once when signal aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/**
 * Runs fn until it succeeds, waiting 0.5 s, 1 s, 2 s … (at most 8 s)
 * between attempts that fail with a network error; any other error is
 * thrown at once. onRetry(err, delay) runs before each wait. Aborting
 * signal stops the retries (the promise rejects with signal.reason).
 */
export async function withRetry(fn, { signal, onRetry } = {}) {
  for (let delay = 500; ; delay = Math.min(delay * 2, 8000)) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (!isNetworkError(err) || signal?.aborted) throw err;
      onRetry?.(err, delay);
      await pause(delay, signal);
    }
  }
}
