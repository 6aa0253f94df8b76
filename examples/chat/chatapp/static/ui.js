// Small DOM helpers of the chat page. Every user-supplied string goes
// through textContent, never innerHTML.

/** document.getElementById. */
export const $ = (id) => document.getElementById(id);

/** Creates an element with an optional class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

/** A round avatar with the name's first letter, its colour derived from the id. */
export function avatar(id, name) {
  const a = el('span', 'avatar', (Array.from(String(name || '?'))[0] || '?').toUpperCase());
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) % 360;
  a.style.setProperty('--hue', String(h));
  a.setAttribute('aria-hidden', 'true');
  return a;
}

/** "14:05" for an ISO timestamp. */
export function timeOf(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Shows a notification toast {title, message, type} for a few seconds. */
export function showToast(n, onClick) {
  const toast = el('div', 'toast');
  toast.dataset.type = n.type || 'info';
  toast.setAttribute('role', 'status');
  toast.append(el('strong', 'toast-title', n.title || 'Notification'), el('p', 'toast-message', n.message || ''));
  const close = () => toast.remove();
  toast.addEventListener('click', () => {
    close();
    onClick?.();
  });
  $('toasts').append(toast);
  setTimeout(close, 8000);
}
