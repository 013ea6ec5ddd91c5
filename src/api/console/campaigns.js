// callpilot console, Campaigns tab: every campaign with its progress and live statistics, and for operators and
// admins the start / pause / resume / stop controls. Numbers come masked from the API (auditors and operators never
// see a full number here); the data is polled while the tab is open.

import { t } from './i18n.js';
import { $, el, getJson, postJson, formatTime } from './dom.js';
import { registerTab, showTab } from './tabs.js';

const POLL_MS = 2000;
/** Which controls each state offers (the server checks again and answers 409 when the state moved meanwhile). */
const ACTIONS = {
  draft: ['start', 'stop'],
  running: ['pause', 'stop'],
  paused: ['resume', 'stop'],
  stopped: [],
  finished: [],
};
const ACTION_LABELS = { start: t('Start'), pause: t('Pause'), resume: t('Resume'), stop: t('Stop') };
// One whole sentence per action, so each language words it its own way (English keeps the verb lower-case).
const ACTION_FAILED = {
  start: 'Cannot start: {error}',
  pause: 'Cannot pause: {error}',
  resume: 'Cannot resume: {error}',
  stop: 'Cannot stop: {error}',
};

const page = { role: undefined, selectedId: undefined, timer: undefined, active: false, busy: false };

function canOperate() {
  return page.role === 'admin' || page.role === 'operator';
}

function pct(x) {
  return `${(x * 100).toFixed(1)} %`;
}

function progressOf(stats) {
  if (!stats || stats.contacts === 0) return 0;
  return (stats.done + stats.blocked + stats.unknown) / stats.contacts;
}

async function loadRole() {
  try {
    const me = await getJson('/api/session');
    page.role = me.role;
    $('#campaigns-role').textContent = canOperate() ? '' : t('Read-only for the {role} role.', { role: t(me.role) });
  } catch {
    // getJson went to the login page on 401.
  }
}

async function refreshList() {
  let rows;
  try {
    const { campaigns } = await getJson('/api/campaigns');
    // Stats per campaign, side by side: a dozen campaigns is a dozen small queries every poll.
    rows = await Promise.all(campaigns.map(async (c) => ({ campaign: c, stats: (await getJson(`/api/campaigns/${encodeURIComponent(c.id)}/stats`)).stats })));
    $('#campaigns-error').hidden = true;
  } catch (err) {
    $('#campaigns-error').textContent = t('Cannot load campaigns: {error}', { error: err.message });
    $('#campaigns-error').hidden = false;
    return;
  }
  const body = $('#campaigns tbody');
  body.replaceChildren(
    ...rows.map(({ campaign: c, stats: s }) => {
      const progress = progressOf(s);
      return el(
        'tr',
        { 'data-campaign-id': c.id, class: c.id === page.selectedId ? 'selected' : undefined, onclick: () => select(c.id) },
        el('td', { text: c.name }),
        el('td', {}, el('span', { class: `pill state ${c.state === 'running' ? 'ok' : ''}`, text: t(c.state) })),
        el('td', { text: `${c.flow}/${c.lang}` }),
        el('td', { class: 'progress-cell' }, el('span', { class: 'progress' }, el('span', { style: `width:${(progress * 100).toFixed(1)}%` })), `${s.done + s.blocked + s.unknown}/${s.contacts}`),
        el('td', { class: 'dialled', text: String(s.attempts) }),
        el('td', { class: 'connected', text: String(s.connected) }),
        el('td', { text: pct(s.answerRate) }),
      );
    }),
  );
  $('#campaigns-empty').hidden = rows.length > 0;
}

async function select(id) {
  page.selectedId = id;
  history.replaceState(null, '', `#campaign=${encodeURIComponent(id)}`);
  for (const row of document.querySelectorAll('#campaigns tbody tr')) row.classList.toggle('selected', row.dataset.campaignId === id);
  await refreshDetail();
}

async function refreshDetail() {
  const id = page.selectedId;
  if (!id) return;
  let detail;
  let attempts;
  try {
    [detail, { attempts }] = await Promise.all([getJson(`/api/campaigns/${encodeURIComponent(id)}`), getJson(`/api/campaigns/${encodeURIComponent(id)}/attempts?limit=1000`)]);
  } catch (err) {
    $('#campaign-detail').replaceChildren(el('p', { class: 'error', text: t('Cannot load campaign {id}: {error}', { id, error: err.message }) }));
    return;
  }
  if (id !== page.selectedId) return;
  renderDetail(detail.campaign, detail.stats, attempts);
}

function stat(label, value, name) {
  return el('div', { class: 'stat', 'data-stat': name }, el('b', { text: String(value) }), el('span', { text: label }));
}

function renderDetail(c, s, attempts) {
  const container = $('#campaign-detail');
  container.dataset.campaignId = c.id;
  container.dataset.state = c.state;
  const controls = el('div', { class: 'controls' });
  if (canOperate()) {
    for (const action of ACTIONS[c.state] || []) {
      controls.append(
        el('button', { type: 'button', class: action === 'stop' ? 'stop' : action === 'pause' ? 'secondary' : undefined, 'data-action': action, text: ACTION_LABELS[action], onclick: () => act(c.id, action) }),
      );
    }
    if ((ACTIONS[c.state] || []).length === 0) controls.append(el('span', { class: 'muted', text: t('The campaign is {state}.', { state: t(c.state) }) }));
  } else {
    controls.append(el('span', { class: 'muted', text: t('Controls are for operators and admins.') }));
  }
  const message = el('p', { id: 'campaign-message', class: 'error', hidden: true });
  const dispositions = Object.entries(s.byDisposition).sort((a, b) => b[1] - a[1]);
  // Newest first: ids are time-ordered.
  const recent = [...attempts].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 50);
  container.replaceChildren(
    el('h2', {}, `${c.name} `, el('span', { class: `pill ${c.state === 'running' ? 'ok' : ''}`, id: 'campaign-state', text: t(c.state) })),
    el('p', { class: 'muted', text: t('{id} · flow {flow} · profile {profile} · trunk {trunk} at {cps} cps · at most {max} calls · priority {priority}', { id: c.id, flow: `${c.flow}/${c.lang}`, profile: c.profile, trunk: c.trunk, cps: c.cps, max: c.maxConcurrent, priority: c.priority }) }),
    controls,
    message,
    el(
      'div',
      { class: 'stats' },
      stat(t('contacts'), s.contacts, 'contacts'),
      stat(t('pending'), s.pending, 'pending'),
      stat(t('dialing now'), s.dialing, 'dialing'),
      stat(t('done'), s.done, 'done'),
      stat(t('blocked (DNC, caps, role)'), s.blocked, 'blocked'),
      stat(t('dialled'), s.attempts, 'dialled'),
      stat(t('answered'), s.connected, 'connected'),
      stat(t('answer rate'), pct(s.answerRate), 'answerRate'),
      stat(t('avg handle time'), `${s.avgHandleSec.toFixed(1)} s`, 'avgHandle'),
      stat(t('attempts left'), s.attemptsLeft, 'attemptsLeft'),
      stat(t('next attempt'), s.nextAt ? formatTime(s.nextAt) : '—', 'nextAt'),
    ),
    el('h2', { text: t('Outcomes') }),
    dispositions.length > 0
      ? el('ul', { id: 'dispositions' }, ...dispositions.map(([d, n]) => el('li', { 'data-disposition': d, text: `${d}: ${n}` })))
      : el('p', { class: 'muted', text: t('No attempt has ended yet.') }),
    el('h2', { text: t('Latest attempts') }),
    el(
      'table',
      { id: 'attempts' },
      el('thead', {}, el('tr', {}, ...['Created', 'Number', 'Try', 'State', 'Disposition', 'Verdict', 'Length'].map((h) => el('th', { text: t(h) })))),
      el(
        'tbody',
        {},
        ...recent.map((a) =>
          el(
            'tr',
            { 'data-attempt-id': a.id },
            el('td', { text: formatTime(a.createdAt) }),
            el('td', { class: 'number', text: a.number }),
            el('td', { text: String(a.attemptNo) }),
            el('td', { text: t(a.state) }),
            el('td', { text: a.disposition || '' }),
            el('td', { text: a.progress ? t(a.progress) : '' }),
            el('td', { text: a.durationSec !== undefined ? `${Math.round(a.durationSec)} s` : '' }),
          ),
        ),
      ),
    ),
    el('p', { class: 'muted', text: t('Numbers are masked; full numbers only through the API with the unmask grant (audited).') }),
  );
}

async function act(id, action) {
  if (page.busy) return;
  page.busy = true;
  try {
    await postJson(`/api/campaigns/${encodeURIComponent(id)}/${action}`);
  } catch (err) {
    await refreshDetail();
    const message = $('#campaign-message');
    if (message) {
      message.textContent = t(ACTION_FAILED[action], { error: err.message });
      message.hidden = false;
    }
    return;
  } finally {
    page.busy = false;
  }
  await Promise.all([refreshDetail(), refreshList()]);
}

async function poll() {
  if (!page.active) return;
  await Promise.all([refreshList(), refreshDetail()]);
  if (page.active) page.timer = setTimeout(poll, POLL_MS);
}

function main() {
  const roleKnown = loadRole();
  const opened = registerTab('campaigns', {
    section: '#campaigns-page',
    hash: () => (page.selectedId ? `#campaign=${encodeURIComponent(page.selectedId)}` : '#campaigns'),
    owns: (hash) => hash === '#campaigns' || hash.startsWith('#campaign='),
    onShow: () => {
      page.active = true;
      void poll();
    },
    onHide: () => {
      page.active = false;
      clearTimeout(page.timer);
    },
  });
  const fromHash = /^#campaign=(.+)$/.exec(location.hash);
  if (fromHash) page.selectedId = decodeURIComponent(fromHash[1]);
  // After the role is known, so the controls match it from the first render.
  if (opened) void roleKnown.then(() => showTab('campaigns'));
}

main();
