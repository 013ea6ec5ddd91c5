// Small DOM and fetch helpers shared by the console's modules.

export const $ = (selector) => document.querySelector(selector);

/** Creates an element with text and attributes; all text goes through textContent, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

/** The session ended (expired, revoked, signed out elsewhere): back to the login page, then here again. */
function toLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.hash)}`);
}

export async function getJson(url) {
  return requestJson(url, { headers: { accept: 'application/json' } });
}

/** A same-origin POST: the browser adds Origin, which the server requires of cookie-authenticated writes. */
export async function postJson(url, body) {
  const init = { method: 'POST', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return requestJson(url, init);
}

/** The response body as JSON; an error carrying the server's message when the status is not 2xx. */
async function requestJson(url, init) {
  const response = await fetch(url, init);
  if (response.status === 401) {
    toLogin();
    throw new Error('signed out');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDuration(call) {
  const end = call.endedAt ? Date.parse(call.endedAt) : Date.now();
  const seconds = Math.max(0, Math.round((end - Date.parse(call.startedAt)) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
