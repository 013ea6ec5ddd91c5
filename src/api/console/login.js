// Exchanges an API token for an HttpOnly session cookie, then goes back to where the user was heading.
import { t } from './i18n.js';

const form = document.querySelector('#login');
const error = document.querySelector('#login-error');

/** Only paths on this site: `next` comes from the URL, so an absolute or protocol-relative one is ignored. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  const path = next.startsWith('/') && !next.startsWith('//') ? next : '/';
  // The server's redirect never sees the #fragment (a deep link to a call); the browser kept it on this page.
  return path.includes('#') ? path : path + location.hash;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const token = form.elements.token.value.trim();
  try {
    const response = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || `${response.status} ${response.statusText}`);
    }
    form.reset();
    location.assign(nextPath());
  } catch (err) {
    error.textContent = `${t('Sign-in failed')}: ${err.message}`;
    error.hidden = false;
  }
});
