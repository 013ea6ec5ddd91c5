// The call page's timeline: caller speech, bot prompts (the greeting too), barge-ins and QA hits on the recording's
// time axis (ms from the recording's start, the call's audio clock), each a button that plays the recording from there.

import { t } from './i18n.js';
import { el } from './dom.js';

const isMs = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** "1:05.2" for 65,200 ms. */
export function formatMs(ms) {
  const tenths = Math.round(ms / 100);
  return `${Math.floor(tenths / 600)}:${String(Math.floor(tenths / 10) % 60).padStart(2, '0')}.${tenths % 10}`;
}

/**
 * What happened when, from the stored call events (they carry audio-clock times): a prompt runs from its first frame on
 * the wire to its end or the barge-in that cut it. Calls stored without those events fall back to their turns' times.
 */
export function timelineItems({ turns, events, qaHits }) {
  const items = [];
  let waiting; // a prompt the dialog chose, its audio not yet on the wire
  let playing; // the prompt on the wire
  const endPrompt = (atMs) => {
    if (playing) playing.endMs = Math.max(playing.startMs, atMs);
    playing = undefined;
  };
  for (const { type, data } of events) {
    if (type === 'final' && isMs(data.speechStartMs)) {
      items.push({ kind: 'caller', startMs: data.speechStartMs, endMs: isMs(data.speechEndMs) ? data.speechEndMs : undefined, text: data.text, fromEvents: true });
    } else if (type === 'dtmf' && isMs(data.atMs)) {
      items.push({ kind: 'caller', startMs: data.atMs, text: `⌨ ${data.digits}`, fromEvents: true });
    } else if (type === 'bot' && isMs(data.atMs)) {
      endPrompt(data.atMs);
      waiting = { kind: 'bot', startMs: data.atMs, text: data.text, fromEvents: true };
      items.push(waiting);
    } else if (type === 'botAudioStart' && isMs(data.atMs) && waiting) {
      waiting.startMs = data.atMs;
      playing = waiting;
      waiting = undefined;
    } else if (type === 'botAudioEnd' && isMs(data.atMs)) {
      endPrompt(data.atMs);
    } else if (type === 'bargeIn' && isMs(data.atMs)) {
      endPrompt(data.atMs);
      items.push({ kind: 'barge', startMs: data.atMs, text: t('barge-in, {ms} ms of the prompt heard', { ms: Math.round(data.heardMs ?? 0) }) });
    }
  }
  if (!items.some((i) => i.kind === 'caller' || i.kind === 'bot')) items.push(...turnItems(turns));
  for (const hit of qaHits) {
    if (!isMs(hit.atMs)) continue;
    const values = { rule: hit.ruleId, leg: t(hit.leg), severity: t(hit.severity), text: hit.text };
    const text = t(hit.leg ? 'QA {rule} ({leg}, {severity}): {text}' : 'QA {rule} ({severity}): {text}', values);
    items.push({ kind: 'qa', startMs: hit.atMs, endMs: hit.endMs, severity: hit.severity, hitId: hit.id, text });
  }
  return items.sort((a, b) => a.startMs - b.startMs);
}

/** Times from the turns alone: the greeting opens the recording, a reply starts `latencyMs` after the caller stopped. */
function turnItems(turns) {
  const items = [];
  for (const turn of turns) {
    if (isMs(turn.speechStartMs)) items.push({ kind: 'caller', startMs: turn.speechStartMs, endMs: isMs(turn.speechEndMs) ? turn.speechEndMs : undefined, text: turn.callerText });
    if (!turn.botText) continue;
    const startMs = turn.seq === 0 ? 0 : isMs(turn.speechEndMs) && isMs(turn.latencyMs) ? turn.speechEndMs + turn.latencyMs : undefined;
    if (startMs !== undefined) items.push({ kind: 'bot', startMs, text: turn.botText });
  }
  return items;
}

/**
 * Where each turn's caller speech and bot prompt start on the timeline, by seq: the caller's from its speech start, the
 * bot's from the first prompt of the timeline with the same text not given to an earlier turn.
 */
export function turnTimes(turns, items) {
  const prompts = items.filter((i) => i.kind === 'bot');
  const times = new Map();
  for (const turn of turns) {
    const index = turn.botText ? prompts.findIndex((p) => p.text === turn.botText) : -1;
    const bot = index >= 0 ? prompts.splice(index, 1)[0].startMs : undefined;
    times.set(turn.seq, { callerMs: isMs(turn.speechStartMs) ? turn.speechStartMs : undefined, botMs: bot });
  }
  return times;
}

const LANES = [
  ['bot', t('bot')],
  ['caller', t('caller')],
  ['marks', t('barge-in / QA')],
];

/** The lanes of the timeline; `onSeek(ms)` is called with the clicked item's start. */
export function renderTimeline(items, onSeek) {
  if (items.length === 0) return el('p', { class: 'muted', id: 'timeline', text: t('No timing recorded for this call.') });
  const totalMs = Math.max(1000, ...items.map((i) => i.endMs ?? i.startMs)) * 1.02;
  const pct = (ms) => `${((ms / totalMs) * 100).toFixed(3)}%`;
  const lanes = new Map(LANES.map(([key]) => [key, el('div', { class: 'tl-track' })]));
  for (const item of items) {
    const lane = lanes.get(item.kind === 'barge' || item.kind === 'qa' ? 'marks' : item.kind);
    const width = item.endMs !== undefined && item.endMs > item.startMs ? `width:${pct(item.endMs - item.startMs)}` : '';
    lane.append(
      el('button', {
        type: 'button',
        class: `tl-item ${item.kind}${item.severity ? ` ${item.severity}` : ''}${width ? '' : ' point'}`,
        style: `left:${pct(item.startMs)};${width}`,
        title: `${formatMs(item.startMs)} ${item.text}`,
        'aria-label': `${formatMs(item.startMs)} ${item.text}`,
        'data-kind': item.kind,
        'data-at-ms': Math.round(item.startMs),
        'data-hit-id': item.hitId,
        onclick: () => onSeek(item.startMs),
      }),
    );
  }
  return el(
    'div',
    { class: 'timeline', id: 'timeline', 'data-total-ms': Math.round(totalMs) },
    ...LANES.map(([key, label]) => el('div', { class: 'tl-lane', 'data-lane': key }, el('span', { class: 'tl-label', text: label }), lanes.get(key))),
    el('div', { class: 'tl-scale' }, el('span', { text: '0:00.0' }), el('span', { text: formatMs(totalMs) })),
  );
}

/**
 * Plays `player` from `ms`. A player that has not loaded yet (preload none) gets the position once it knows the
 * duration; setting it before would be lost on some browsers.
 */
export function playFrom(player, ms) {
  const seconds = ms / 1000;
  player.dataset.seekMs = String(Math.round(ms));
  if (player.readyState >= 1) player.currentTime = seconds;
  else {
    player.preload = 'auto';
    player.addEventListener('loadedmetadata', () => (player.currentTime = seconds), { once: true });
    player.load();
  }
  player.play().catch(() => undefined);
}
