// The live transcript of the selected call, from callpilot's live feed (GET /api/calls/:id/live over WebSocket):
// PBX calls and browser calls alike, both legs as the caller heard them, the dialog's intents and QA hits.

import { t } from './i18n.js';
import { $, el } from './dom.js';

let socket;

function line(cls, who, text, ...badges) {
  return el('li', { class: cls }, el('span', { class: 'who', text: who }), text, ...badges);
}

/** One feed message onto the page; returns nothing, the list grows in feed order. */
function show(message) {
  const list = $('#live-transcript');
  switch (message.type) {
    case 'call.started':
      $('#live-status').textContent = t('live');
      $('#live-status').className = 'pill ok';
      break;
    case 'partial':
      $('#live-partial').textContent = message.text;
      break;
    case 'final':
      $('#live-partial').textContent = '';
      list.append(line('caller live-final', t('caller'), message.text));
      break;
    case 'dtmf':
      list.append(line('caller', t('caller (keypad)'), message.digits));
      break;
    case 'understood':
      if (message.intent) list.lastElementChild?.append(el('span', { class: 'badge intent', text: `${message.intent} ${Math.round(message.confidence * 100)}%` }));
      break;
    case 'bot.spoken': {
      const latency = typeof message.latencyMs === 'number' ? el('span', { class: 'badge latency', text: `${Math.round(message.latencyMs)} ms` }) : undefined;
      list.append(line('bot live-bot', t('bot'), message.text, latency));
      break;
    }
    case 'bot.heard':
      // The caller cut the prompt: show what they heard of it.
      if (message.cut) {
        const last = [...list.querySelectorAll('li.live-bot')].pop();
        if (last) {
          last.classList.add('cut');
          last.append(el('span', { class: 'badge barge', text: t('heard: {text}', { text: message.heardText || '…' }) }));
        }
      }
      break;
    case 'qa.hit':
      list.append(line('qa live-qa', `${t('QA')} ${t(message.hit.severity)}`, `${message.hit.ruleId}: ${message.hit.text}`));
      break;
    case 'call.ended':
      $('#live-status').textContent = t('ended: {disposition}', { disposition: message.disposition });
      $('#live-status').dataset.ended = 'true';
      $('#live-status').className = 'pill';
      $('#live-partial').textContent = '';
      break;
    default:
      break;
  }
}

function follow(id) {
  socket?.close();
  $('#live-transcript').replaceChildren();
  $('#live-partial').textContent = '';
  $('#live-status').textContent = '…';
  delete $('#live-status').dataset.ended;
  $('#live-panel').hidden = false;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/api/calls/${encodeURIComponent(id)}/live`);
  socket = ws;
  ws.addEventListener('message', (event) => {
    if (socket !== ws) return;
    const message = JSON.parse(event.data);
    if (message.type === 'error') {
      $('#live-status').textContent = message.error;
      return;
    }
    show(message);
  });
  ws.addEventListener('close', () => {
    // An ended call without live messages has nothing to show.
    if (socket === ws && $('#live-transcript').childElementCount === 0 && $('#live-status').dataset.ended === 'true') $('#live-panel').hidden = true;
  });
}

document.addEventListener('callpilot:call-selected', (event) => follow(event.detail.id));
