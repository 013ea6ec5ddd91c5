// callpilot console, Flows tab: every loaded flow version (one per language file, `version` is the file's content
// hash that calls store as flow_version) and the selected flow's steps as a diagram: each step with what the bot says
// and its transitions, which link to the steps they lead to.

import { t } from './i18n.js';
import { $, el, getJson } from './dom.js';
import { registerTab, showTab } from './tabs.js';

const KIND_LABELS = { ask: t('asks'), goto: t('moves on'), webhook: t('webhook'), end: t('ends'), transfer: t('transfers') };

const page = { flows: [], selected: undefined };

const keyOf = (flow) => `${flow.name}/${flow.lang}`;

function renderList() {
  $('#flows tbody').replaceChildren(
    ...page.flows.map((flow) =>
      el(
        'tr',
        { 'data-flow': keyOf(flow), class: keyOf(flow) === page.selected ? 'selected' : undefined, onclick: () => select(keyOf(flow)) },
        el('td', { text: flow.name }),
        el('td', { text: flow.lang }),
        el('td', {}, el('code', { text: flow.version })),
        el('td', { text: String(flow.steps.length) }),
        el('td', { text: flow.description || '' }),
      ),
    ),
  );
  $('#flows-empty').hidden = page.flows.length > 0;
}

/** Jumps to a step card and marks it, so following a transition through the diagram is one click per hop. */
function focusStep(name) {
  for (const card of document.querySelectorAll('#flow-diagram .step')) card.classList.toggle('focused', card.dataset.step === name);
  document.querySelector(`#flow-diagram .step[data-step="${CSS.escape(name)}"]`)?.scrollIntoView({ block: 'nearest' });
}

function edgeList(edges) {
  return el(
    'ul',
    { class: 'edges' },
    ...edges.map((edge) =>
      el(
        'li',
        { 'data-via': edge.via, 'data-to': edge.to },
        el('span', { class: 'via', text: edge.via }),
        ' → ',
        el('a', { href: `#flow-step=${encodeURIComponent(edge.to)}`, text: edge.to, onclick: (event) => (event.preventDefault(), focusStep(edge.to)) }),
      ),
    ),
  );
}

function renderDiagram(flow) {
  const steps = flow.steps.map((step) =>
    el(
      'li',
      { class: `step ${step.kind}${step.name === flow.start ? ' start' : ''}`, 'data-step': step.name, 'data-kind': step.kind },
      el('div', { class: 'step-head' }, el('b', { text: step.name }), el('span', { class: 'pill', text: step.outcome ? `${KIND_LABELS[step.kind]}: ${step.outcome}` : KIND_LABELS[step.kind] }), step.name === flow.start ? el('span', { class: 'pill ok', text: t('start') }) : undefined),
      step.say ? el('p', { class: 'say', text: step.say }) : undefined,
      step.edges.length > 0 ? edgeList(step.edges) : undefined,
    ),
  );
  $('#flow-diagram').replaceChildren(
    el('h2', { text: `${flow.name} (${flow.lang})` }),
    el('p', { class: 'muted', text: `${t('{file} · version {version}', { file: flow.file, version: flow.version })}${flow.description ? ` · ${flow.description}` : ''}` }),
    el('ol', { class: 'steps' }, ...steps),
    flow.globals.length > 0 ? el('div', { class: 'globals' }, el('h3', { text: t('Any waiting step') }), edgeList(flow.globals)) : undefined,
  );
}

function select(key) {
  page.selected = key;
  history.replaceState(null, '', `#flow=${encodeURIComponent(key)}`);
  const flow = page.flows.find((f) => keyOf(f) === key);
  renderList();
  if (flow) renderDiagram(flow);
}

async function refresh() {
  try {
    page.flows = (await getJson('/api/flows')).flows;
    renderList();
    if (page.selected) select(page.selected);
    $('#flows-error').hidden = true;
  } catch (err) {
    $('#flows-error').textContent = t('Cannot load flows: {error}', { error: err.message });
    $('#flows-error').hidden = false;
  }
}

function main() {
  const fromHash = /^#flow=(.+)$/.exec(location.hash);
  if (fromHash) page.selected = decodeURIComponent(fromHash[1]);
  const opened = registerTab('flows', {
    section: '#flows-page',
    hash: () => (page.selected ? `#flow=${encodeURIComponent(page.selected)}` : '#flows'),
    owns: (hash) => hash === '#flows' || hash.startsWith('#flow='),
    onShow: refresh,
  });
  if (opened) showTab('flows');
}

main();
