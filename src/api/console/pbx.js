// callpilot console: this node's PBX connections in the header (GET /api/pbx), and for admins and operators a test
// outbound call placed through POST /api/calls. The number typed is cleared once the call is placed; what the page
// shows afterwards is the call as the API returns it, masked for the user's role.

import { t } from './i18n.js';
import { $, el, getJson, postJson } from './dom.js';
import { openCall } from './console.js';

const POLL_MS = 5000;
const PBX_NAMES = { asterisk: 'Asterisk', freeswitch: 'FreeSWITCH' };
/** Roles POST /api/calls accepts (ROLE_SETS.operate). */
const CALL_ROLES = ['admin', 'operator'];

async function refreshPbx() {
  const box = $('#pbx-status');
  try {
    const { pbx } = await getJson('/api/pbx');
    box.replaceChildren(
      ...(pbx.length === 0
        ? [el('span', { class: 'pill', 'data-kind': 'none', text: t('no PBX configured') })]
        : pbx.map((p) =>
            el('span', {
              class: `pill ${p.connected ? 'ok' : 'bad'}`,
              'data-kind': p.kind,
              'data-connected': String(p.connected),
              title: p.detail || '',
              text: `${PBX_NAMES[p.kind] || p.kind} ${t(p.connected ? 'connected' : 'disconnected')}`,
            }),
          )),
    );
  } catch {
    box.replaceChildren(el('span', { class: 'pill bad', text: t('PBX status unknown') }));
  }
}

async function fillFlows() {
  try {
    const { flows } = await getJson('/api/flows');
    const names = [...new Set(flows.map((f) => f.name))];
    $('#test-flow').replaceChildren(el('option', { value: '', text: t('default flow') }), ...names.map((name) => el('option', { value: name, text: name })));
  } catch {
    // The default flow still works without the list.
  }
}

async function placeTestCall(event) {
  event.preventDefault();
  const result = $('#test-call-result');
  const button = $('#test-call button[type=submit]');
  const body = { endpoint: $('#test-endpoint').value.trim() };
  if ($('#test-flow').value) body.flow = $('#test-flow').value;
  if ($('#test-lang').value) body.lang = $('#test-lang').value;
  button.disabled = true;
  result.className = 'muted';
  result.textContent = t('placing…');
  try {
    const { callId } = await postJson('/api/calls', body);
    // The number leaves the page: what is shown from now on comes masked from the API.
    $('#test-endpoint').value = '';
    const { call } = await getJson(`/api/calls/${encodeURIComponent(callId)}`);
    result.dataset.callId = callId;
    result.replaceChildren(`${t('Placed {id} to {to}', { id: callId, to: call.to || t('the endpoint') })} `, el('a', { href: `#call=${encodeURIComponent(callId)}`, text: t('open'), onclick: (e) => (e.preventDefault(), openCall(callId)) }));
  } catch (err) {
    result.className = 'error';
    result.textContent = t('Cannot place the call: {error}', { error: err.message });
  } finally {
    button.disabled = false;
  }
}

async function main() {
  void refreshPbx();
  setInterval(refreshPbx, POLL_MS);
  $('#test-call').addEventListener('submit', placeTestCall);
  try {
    const me = await getJson('/api/session');
    if (!CALL_ROLES.includes(me.role)) return;
  } catch {
    return;
  }
  $('#test-call-box').hidden = false;
  void fillFlows();
}

void main();
