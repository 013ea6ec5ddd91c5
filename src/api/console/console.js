// callpilot web console: lists calls, shows a call's transcript with latencies and recordings, and lets you
// talk to the bot from the browser over callpilot's media WebSocket (docs/media-websocket.md).

import { t } from './i18n.js';
import { $, el, getJson, formatTime, formatDuration } from './dom.js';
import { formatMs, playFrom, renderTimeline, timelineItems, turnTimes } from './timeline.js';
import { registerTab, showTab } from './tabs.js';
import { PcmPlayer } from './pcm-player.js';
import { listenControls } from './listen.js';

const POLL_MS = 2000;
const SLOW_TURN_MS = 350;
const MEDIA_RATE = 16000;
const MEDIA_FRAME_BYTES = 640; // 20 ms of 16 kHz L16

// ---------------------------------------------------------------- call list

const state = { selectedId: undefined, listTimer: undefined, detailTimer: undefined, canUnmask: false, role: undefined, unmaskedId: undefined, cursor: undefined, next: undefined };

/** The list's query: the filters as the form says, the page the user paged to. */
function callsQuery() {
  const query = new URLSearchParams({ limit: '50' });
  const add = (name, value) => {
    if (value) query.set(name, value);
  };
  add('status', $('#status-filter').value);
  add('number', $('#filter-number').value.trim());
  add('flow', $('#filter-flow').value.trim());
  add('disposition', $('#filter-disposition').value.trim());
  add('direction', $('#filter-direction').value);
  // Date inputs are days in the user's time zone: from the start of `since` to the end of `until`.
  const since = $('#filter-since').value;
  const until = $('#filter-until').value;
  if (since) query.set('since', new Date(`${since}T00:00:00`).toISOString());
  if (until) query.set('until', new Date(new Date(`${until}T00:00:00`).getTime() + 86_400_000).toISOString());
  add('cursor', state.cursor);
  return query;
}

async function refreshCalls() {
  try {
    const { calls, next } = await getJson(`/api/calls?${callsQuery()}`);
    state.next = next;
    renderCalls(calls);
    $('#page-next').disabled = !next;
    $('#page-first').disabled = !state.cursor;
    $('#calls-error').hidden = true;
  } catch (err) {
    $('#calls-error').textContent = t('Cannot load calls: {error}', { error: err.message });
    $('#calls-error').hidden = false;
  }
}

/** A new search or filter starts again at the newest calls. */
function searchCalls(event) {
  event?.preventDefault();
  state.cursor = undefined;
  refreshCalls();
}

function renderCalls(calls) {
  const body = $('#calls tbody');
  body.replaceChildren(
    ...calls.map((call) =>
      el(
        'tr',
        {
          'data-call-id': call.id,
          class: call.id === state.selectedId ? 'selected' : undefined,
          onclick: () => selectCall(call.id),
        },
        el('td', { text: formatTime(call.startedAt) }),
        el('td', { text: t(call.direction === 'inbound' ? '⬇ in' : '⬆ out') }),
        el('td', { text: call.direction === 'inbound' ? call.from || '' : call.to || '' }),
        el('td', { text: call.flow || '' }),
        el('td', {}, el('span', { class: `pill ${call.status === 'active' ? 'ok' : ''}`, text: t(call.status) })),
        el('td', { text: call.disposition || '' }),
        el('td', { text: formatDuration(call) }),
      ),
    ),
  );
  $('#calls-empty').hidden = calls.length > 0;
}

// ---------------------------------------------------------------- call detail

async function selectCall(id) {
  state.selectedId = id;
  if (state.unmaskedId !== id) state.unmaskedId = undefined;
  history.replaceState(null, '', `#call=${encodeURIComponent(id)}`);
  // The live transcript (live.js) follows the selected call.
  document.dispatchEvent(new CustomEvent('callpilot:call-selected', { detail: { id } }));
  for (const row of document.querySelectorAll('#calls tbody tr')) row.classList.toggle('selected', row.dataset.callId === id);
  clearTimeout(state.detailTimer);
  await refreshDetail(true);
}

async function refreshDetail(initial) {
  const id = state.selectedId;
  if (!id) return;
  let detail;
  try {
    // Full numbers only on request, for users allowed them; the server writes each such read to the audit log.
    const unmask = state.unmaskedId === id ? '?unmask=true' : '';
    detail = await getJson(`/api/calls/${encodeURIComponent(id)}${unmask}`);
  } catch (err) {
    $('#call-detail').replaceChildren(el('p', { class: 'error', text: t('Cannot load call {id}: {error}', { id, error: err.message }) }));
    return;
  }
  if (id !== state.selectedId) return;
  // Re-render live calls only; players of an ended call must not restart under the user's cursor.
  if (initial || detail.call.status === 'active' || $('#call-detail').dataset.status === 'active') renderDetail(detail);
  if (detail.call.status === 'active') state.detailTimer = setTimeout(() => refreshDetail(false), POLL_MS);
}

function renderDetail({ call, turns, events, qaHits, masked }) {
  const container = $('#call-detail');
  container.dataset.status = call.status;
  container.dataset.callId = call.id;
  container.dataset.masked = masked ? 'true' : 'false';
  const meta = el('dl', { class: 'meta' });
  const addMeta = (label, value) => {
    if (value === undefined || value === null || value === '') return;
    meta.append(el('dt', { text: label }), el('dd', { text: String(value) }));
  };
  addMeta(t('Call'), call.id);
  addMeta(t('PBX'), `${call.pbx}${call.pbxCallId ? ` (${call.pbxCallId})` : ''}`);
  addMeta(t('From'), call.from);
  addMeta(t('To'), call.to);
  addMeta(t('Flow'), call.flow);
  addMeta(t('Language'), call.lang);
  addMeta(t('Started'), formatTime(call.startedAt));
  addMeta(t('Ended'), formatTime(call.endedAt));
  addMeta(t('Disposition'), call.disposition);
  addMeta(t('Hangup'), call.hangupCause !== undefined ? (call.hangupBy ? t('{cause} by {side}', { cause: call.hangupCause, side: t(call.hangupBy) }) : call.hangupCause) : undefined);
  const variables = Object.entries(call.variables || {});
  if (variables.length > 0) addMeta(t('Variables'), variables.map(([k, v]) => `${k}=${v}`).join(', '));

  const latencies = turns.map((t) => t.latencyMs).filter((v) => typeof v === 'number');
  if (latencies.length > 0) {
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    addMeta(t('Turn latency'), t('median {median} ms, max {max} ms', { median: Math.round(median), max: Math.round(sorted[sorted.length - 1]) }));
  }

  const recordings = call.recordingDir
    ? el(
        'div',
        { class: 'recordings' },
        ...['mixed', 'caller', 'bot'].map((leg) =>
          el(
            'label',
            { text: t(leg) },
            el('audio', { controls: true, preload: 'none', src: `/api/calls/${encodeURIComponent(call.id)}/recordings/${leg}`, 'data-leg': leg }),
          ),
        ),
      )
    : el('p', { class: 'muted', text: t('No recordings for this call.') });

  const items = timelineItems({ turns, events, qaHits });
  const mixed = recordings.querySelector?.('audio[data-leg="mixed"]');
  // Without a recording there is nothing to play; the timeline still shows what happened when.
  const seek = mixed ? (ms) => playFrom(mixed, ms) : undefined;
  const eventLines = events.map((e) => `${e.at}  ${e.type}  ${JSON.stringify(e.data, roundNumbers)}`).join('\n');
  const numbers = masked
    ? state.canUnmask
      ? el('button', { id: 'unmask', type: 'button', class: 'secondary', text: t('Show full numbers (audited)'), onclick: () => showFullNumbers(call.id) })
      : el('p', { class: 'muted', text: t('Numbers are masked for your role.') })
    : el('p', { class: 'muted', text: t('Full numbers shown; this read is in the audit log.') });
  container.replaceChildren(
    el('h2', { text: t('Call') }),
    meta,
    numbers,
    // Nothing for calls that cannot be listened to: replaceChildren would print `undefined`.
    listenControls(call, state.role) ?? '',
    recordings,
    el('h2', { text: t('Timeline') }),
    renderTimeline(items, seek ?? (() => undefined)),
    el('h2', { text: t('Transcript') }),
    renderTranscript(turns, items, seek),
    el('details', {}, el('summary', { text: `${t('Events')} (${events.length})` }), el('pre', { text: eventLines })),
  );
}

/** Event data with times and ratios rounded: the audio clock has sub-millisecond noise nobody needs to read. */
function roundNumbers(_key, value) {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 100) / 100 : value;
}

/** Marks a transcript line as a place in the recording: a time to click when the call has a recording. */
function atTime(item, ms, seek) {
  if (ms === undefined) return item;
  item.dataset.atMs = String(Math.round(ms));
  item.prepend(el('span', { class: 'at', text: formatMs(ms) }));
  if (seek) {
    item.classList.add('seekable');
    item.addEventListener('click', () => seek(ms));
  }
  return item;
}

/** A caller line with the turn's barge-in, continuation and QA badges (a QA badge plays the recording from its hit). */
function callerLine(label, text, turn, seek) {
  const item = el('li', { class: 'caller turn', 'data-seq': turn?.seq }, el('span', { class: 'who', text: label }), text);
  if (turn?.bargeIn) {
    const text = turn.heardMs !== undefined ? t('barge-in after {ms} ms', { ms: Math.round(turn.heardMs) }) : t('barge-in');
    item.append(el('span', { class: 'badge barge', text }));
  }
  // The caller went on after a pause the bot took for the end: this turn's words and that one's were answered as one.
  if (typeof turn?.continuesSeq === 'number') item.append(el('span', { class: 'badge continued', text: t('continues turn {seq}', { seq: turn.continuesSeq }) }));
  for (const hit of turn?.qaHits ?? []) {
    const badge = el('button', { type: 'button', class: `badge qa ${hit.severity}`, 'data-at-ms': Math.round(hit.atMs), text: t('QA {rule}', { rule: hit.ruleId }) });
    if (seek) {
      badge.addEventListener('click', (event) => {
        event.stopPropagation();
        seek(hit.atMs);
      });
    }
    item.append(badge);
  }
  return item;
}

/** A prompt line with the reply latency of the turn it answered. */
function botLine(text, turn, greeting) {
  const item = el('li', { class: `bot${greeting ? ' greeting' : ''}`, 'data-seq': turn?.seq }, el('span', { class: 'who', text: t(greeting ? 'bot (greeting)' : 'bot') }), text);
  if (typeof turn?.latencyMs === 'number') {
    item.append(el('span', { class: `badge latency${turn.latencyMs > SLOW_TURN_MS ? ' slow' : ''}`, text: `${Math.round(turn.latencyMs)} ms` }));
  }
  return item;
}

/**
 * Both legs in recording order. From the stored events when the call has them: every prompt that went on the wire
 * (the greeting and re-prompts are not turns of their own) and every final, with the matching turn's badges. Calls
 * stored without events are told turn by turn (the greeting is then turn 0's prompt).
 */
function renderTranscript(turns, items, seek) {
  const transcript = el('ol', { class: 'transcript', id: 'transcript' });
  const timed = items.filter((i) => (i.kind === 'caller' || i.kind === 'bot') && i.fromEvents);
  if (timed.length > 0) {
    const answered = new Set();
    let callerSpoke = false;
    for (const item of timed) {
      if (item.kind === 'caller') {
        const turn = turns.find((x) => x.speechStartMs !== undefined && Math.round(x.speechStartMs) === Math.round(item.startMs));
        transcript.append(atTime(callerLine(t('caller'), item.text, turn, seek), item.startMs, seek));
        callerSpoke = true;
      } else {
        const turn = turns.find((x) => !answered.has(x) && x.botText === item.text);
        if (turn) answered.add(turn);
        transcript.append(atTime(botLine(item.text, turn, !callerSpoke && transcript.querySelector('li.bot') === null), item.startMs, seek));
      }
    }
    return transcript;
  }
  const times = turnTimes(turns, items);
  for (const turn of turns) {
    const { callerMs, botMs } = times.get(turn.seq) ?? {};
    // A speech turn with no text: the caller spoke and the recognizer made nothing of it (a no-match).
    const unrecognized = turn.inputKind === 'speech' && !turn.callerText;
    const label = t(turn.inputKind === 'dtmf' ? 'caller (keypad)' : turn.inputKind === 'noInput' ? 'caller (silent)' : unrecognized ? 'caller (not recognized)' : 'caller');
    const caller = callerLine(label, turn.inputKind === 'noInput' || unrecognized ? '…' : turn.callerText, turn, seek);
    if (turn.seq > 0 || turn.callerText || turn.inputKind !== 'noInput' || caller.querySelector('.qa')) transcript.append(atTime(caller, callerMs, seek));
    if (turn.botText) transcript.append(atTime(botLine(turn.botText, turn, turn.seq === 0), botMs, seek));
  }
  if (turns.length === 0) transcript.append(el('li', { class: 'muted', text: t('No turns recorded.') }));
  return transcript;
}

// ---------------------------------------------------------------- talk to the bot

class TalkSession {
  constructor(onEnd) {
    this.onEnd = onEnd;
    this.ended = false;
  }

  async start(lang) {
    this.setStatus(t('opening microphone…'));
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule('/console/mic-capture-worklet.js');
    const source = this.context.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.context, 'mic-capture', { processorOptions: { targetRate: MEDIA_RATE } });
    // The capture node must be pulled by the graph to run; a muted gain keeps the mic out of the speakers.
    const mute = this.context.createGain();
    mute.gain.value = 0;
    source.connect(this.capture).connect(mute).connect(this.context.destination);
    this.player = new PcmPlayer(this.context, MEDIA_RATE);

    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.ws = new WebSocket(`${scheme}://${location.host}/media`, 'callpilot-media');
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      this.setStatus(t('connecting…'));
      this.ws.send(JSON.stringify({ event: 'start', codec: 'l16', sampleRate: MEDIA_RATE, lang }));
    };
    this.ws.onmessage = (message) => this.receive(message.data);
    this.ws.onerror = () => this.setStatus(t('connection error'), 'bad');
    this.ws.onclose = (e) => this.finish(e.reason ? t('closed: {reason}', { reason: e.reason }) : t('call ended'));
    this.capture.port.onmessage = (e) => {
      if (this.started && this.ws.readyState === WebSocket.OPEN && e.data.byteLength === MEDIA_FRAME_BYTES) this.ws.send(e.data);
    };
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      this.player.play(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.event) {
      case 'started':
        this.started = true;
        this.callId = message.callId;
        this.setStatus(t('on call {id}', { id: message.callId }), 'ok');
        refreshCalls();
        break;
      case 'clear':
        this.player.clear();
        break;
      case 'transcript':
        if (message.final) {
          $('#talk-partial').textContent = '';
          if (message.text) addTalkLine('caller', message.text);
        } else {
          $('#talk-partial').textContent = message.text || '';
        }
        break;
      case 'bot':
        if (message.text) addTalkLine('bot', message.text);
        break;
      case 'error':
        this.setStatus(t('error: {message}', { message: message.message }), 'bad');
        break;
      case 'end':
        this.finish(t('call ended ({reason})', { reason: `${message.reason}${message.detail ? `: ${message.detail}` : ''}` }));
        break;
      default:
        break;
    }
  }

  hangup() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ event: 'hangup' }));
    this.finish(t('hung up'));
  }

  finish(text) {
    if (this.ended) return;
    this.ended = true;
    this.setStatus(text);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.player) this.player.clear();
    if (this.context) this.context.close().catch(() => undefined);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    this.onEnd(this.callId);
  }

  setStatus(text, kind) {
    const status = $('#talk-status');
    status.textContent = text;
    status.className = `pill ${kind || ''}`;
  }
}

function addTalkLine(who, text) {
  $('#talk-transcript').append(el('li', { class: who }, el('span', { class: 'who', text: t(who) }), text));
}

let talk;

async function toggleTalk() {
  const button = $('#talk');
  if (talk && !talk.ended) {
    talk.hangup();
    return;
  }
  $('#talk-panel').hidden = false;
  $('#talk-transcript').replaceChildren();
  $('#talk-partial').textContent = '';
  button.textContent = t('⏹ Hang up');
  button.classList.add('stop');
  talk = new TalkSession((callId) => {
    button.textContent = t('🎙 Talk to the bot');
    button.classList.remove('stop');
    refreshCalls();
    if (callId) selectCall(callId);
  });
  try {
    await talk.start($('#talk-lang').value);
  } catch (err) {
    const status = t('cannot start: {error}', { error: err.message });
    talk.finish(status);
    talk.setStatus(status, 'bad');
  }
}

// ---------------------------------------------------------------- start-up

async function refreshHealth() {
  const pill = $('#health');
  try {
    const response = await fetch('/readyz');
    const body = await response.json();
    const failing = Object.entries(body.checks || {}).filter(([, check]) => !check.ok);
    pill.textContent = body.ready ? t('ready') : t('not ready: {checks}', { checks: failing.map(([name, c]) => `${name}${c.detail ? ` (${c.detail})` : ''}`).join(', ') });
    pill.className = `pill ${body.ready ? 'ok' : 'bad'}`;
  } catch {
    pill.textContent = t('server unreachable');
    pill.className = 'pill bad';
  }
}

async function showFullNumbers(id) {
  state.unmaskedId = id;
  clearTimeout(state.detailTimer);
  await refreshDetail(true);
}

async function showUser() {
  try {
    const me = await getJson('/api/session');
    $('#user').textContent = t(me.unmask ? '{name} ({role}, full numbers)' : '{name} ({role})', { name: me.name, role: t(me.role) });
    $('#user').dataset.role = me.role;
    state.canUnmask = me.unmask === true;
    state.role = me.role;
    // Auditors only read: they cannot start calls.
    if (me.role === 'auditor') $('#talk').hidden = true;
  } catch {
    // getJson already went to the login page on 401.
  }
}

async function logout() {
  // Same-origin fetch: the browser adds Origin, which the server requires of cookie-authenticated writes.
  await fetch('/api/session', { method: 'DELETE' }).catch(() => undefined);
  location.assign('/login');
}

/** Opens a call's page from another tab (QA hits, campaigns) and, with `atMs`, plays its recording from there. */
export async function openCall(id, atMs) {
  history.replaceState(null, '', `#call=${encodeURIComponent(id)}`);
  showTab('calls');
  await selectCall(id);
  const mixed = document.querySelector('#call-detail audio[data-leg="mixed"]');
  if (mixed && atMs !== undefined) playFrom(mixed, atMs);
}

function main() {
  registerTab('calls', { section: 'main', hash: () => (state.selectedId ? `#call=${encodeURIComponent(state.selectedId)}` : '#calls') });
  $('#logout').addEventListener('click', logout);
  const userKnown = showUser();
  $('#talk').addEventListener('click', toggleTalk);
  $('#status-filter').addEventListener('change', searchCalls);
  $('#call-filters').addEventListener('submit', searchCalls);
  $('#page-next').addEventListener('click', () => {
    state.cursor = state.next;
    refreshCalls();
  });
  $('#page-first').addEventListener('click', () => searchCalls());
  refreshCalls();
  refreshHealth();
  state.listTimer = setInterval(() => {
    refreshCalls();
    refreshHealth();
  }, POLL_MS);
  const fromHash = /^#call=(.+)$/.exec(location.hash);
  // After the user's rights are known, so the call view offers (or not) full numbers from the start.
  if (fromHash) userKnown.then(() => selectCall(decodeURIComponent(fromHash[1])));
}

main();

