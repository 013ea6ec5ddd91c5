// callpilot console, QA tab (质检): hits per rule, severity and flow over a period from the QA report API
// (/api/qa/summary), the hits themselves (/api/qa/hits, newest first, paged by cursor) with links that open the call
// and play its recording from the hit, and the CSV export of the same filters.

import { t } from './i18n.js';
import { $, el, getJson, formatTime } from './dom.js';
import { registerTab, showTab } from './tabs.js';
import { formatMs } from './timeline.js';
import { openCall } from './console.js';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 7;
const HITS_PAGE = 100;
const GROUPS = [
  ['rule', 'Rule', '#qa-rule', 'Per rule'],
  ['severity', 'Severity', '#qa-severity', 'Per severity'],
  ['flow', 'Flow', '#qa-flow', 'Per flow'],
];

const page = { next: null };

/** The filters as the form says; dates are whole days in the user's time zone (`to` inclusive). */
function filters() {
  const query = new URLSearchParams();
  const from = $('#qa-from').value;
  const to = $('#qa-to').value;
  if (from) query.set('from', new Date(`${from}T00:00:00`).toISOString());
  if (to) query.set('to', new Date(new Date(`${to}T00:00:00`).getTime() + DAY_MS).toISOString());
  for (const [name, selector] of [['flow', '#qa-flow'], ['rule', '#qa-rule'], ['severity', '#qa-severity']]) {
    const value = $(selector).value.trim();
    if (value) query.set(name, value);
  }
  return query;
}

function summaryTable([by, label, selector, caption], rows) {
  const max = Math.max(1, ...rows.map((r) => r.hits));
  return el(
    'table',
    { id: `qa-by-${by}`, class: 'qa-summary' },
    el('caption', { text: t(caption) }),
    el('thead', {}, el('tr', {}, el('th', { text: t(label) }), el('th', { text: t('Hits') }), el('th', { text: t('Calls') }), el('th', { text: t('Score') }))),
    el(
      'tbody',
      {},
      ...rows.map((row) =>
        el(
          'tr',
          {
            'data-key': row.key,
            title: t('{label}: {key}', { label: t(label), key: by === 'severity' ? t(row.key) : row.key }),
            onclick: () => {
              $(selector).value = row.key;
              void refresh();
            },
          },
          el('td', { class: by === 'severity' ? `sev ${row.key}` : undefined, text: by === 'severity' ? t(row.key) : row.key }),
          el('td', {}, el('span', { class: 'progress' }, el('span', { style: `width:${((row.hits / max) * 100).toFixed(1)}%` })), String(row.hits)),
          el('td', { text: String(row.calls) }),
          el('td', { text: String(row.score) }),
        ),
      ),
    ),
  );
}

function hitRow(hit) {
  const open = (atMs) => (event) => {
    event.preventDefault();
    void openCall(hit.callId, atMs);
  };
  return el(
    'tr',
    { 'data-hit-id': hit.id, 'data-call-id': hit.callId },
    el('td', { text: formatTime(hit.at) }),
    el('td', {}, el('a', { href: `#call=${encodeURIComponent(hit.callId)}`, class: 'call-link', text: hit.callId, onclick: open(undefined) })),
    el('td', { text: hit.flow || '' }),
    el('td', { text: hit.ruleId }),
    el('td', { class: `sev ${hit.severity}`, text: t(hit.severity) }),
    el('td', { text: t(hit.leg || 'call') }),
    el('td', {}, el('a', { href: `#call=${encodeURIComponent(hit.callId)}`, class: 'play-hit', 'data-at-ms': Math.round(hit.atMs), text: `▶ ${formatMs(hit.atMs)}`, onclick: open(hit.atMs) })),
    el('td', { class: 'qa-text', text: hit.text }),
  );
}

async function loadHits(append) {
  const query = filters();
  query.set('limit', String(HITS_PAGE));
  // Operators look for what was just found: newest first, each page older than the last.
  query.set('order', 'newest');
  if (append && page.next !== null) query.set('before', String(page.next));
  const { hits, next } = await getJson(`/api/qa/hits?${query}`);
  page.next = next;
  const body = $('#qa-hits tbody');
  if (append) body.append(...hits.map(hitRow));
  else body.replaceChildren(...hits.map(hitRow));
  $('#qa-more').hidden = next === null;
  $('#qa-empty').hidden = body.childElementCount > 0;
}

async function refresh(event) {
  event?.preventDefault();
  const query = filters();
  $('#qa-csv').href = `/api/qa/hits.csv?${query}`;
  try {
    const summaries = await Promise.all(GROUPS.map(([by]) => getJson(`/api/qa/summary?${new URLSearchParams([...query, ['by', by]])}`)));
    $('#qa-summaries').replaceChildren(...GROUPS.map((group, i) => summaryTable(group, summaries[i].rows)));
    await loadHits(false);
    $('#qa-error').hidden = true;
  } catch (err) {
    showError(err);
  }
}

function showError(err) {
  $('#qa-error').textContent = t('Cannot load QA: {error}', { error: err.message });
  $('#qa-error').hidden = false;
}

function main() {
  const today = new Date();
  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  $('#qa-from').value = isoDay(new Date(today.getTime() - (DEFAULT_DAYS - 1) * DAY_MS));
  $('#qa-to').value = isoDay(today);
  $('#qa-filters').addEventListener('submit', refresh);
  $('#qa-clear').addEventListener('click', () => {
    for (const selector of ['#qa-flow', '#qa-rule', '#qa-severity']) $(selector).value = '';
    void refresh();
  });
  $('#qa-more').addEventListener('click', () => loadHits(true).catch(showError));
  if (registerTab('qa', { section: '#qa-page', onShow: refresh })) showTab('qa');
}

main();
