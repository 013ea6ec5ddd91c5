// Listen-in for supervisors (admin and operator roles): the running call's audio from callpilot's recording taps over
// `wss://host/api/listen/<callId>` (docs/listen-in.md), played in the browser. The server audits every listen.

import { t } from './i18n.js';
import { el } from './dom.js';
import { PcmPlayer } from './pcm-player.js';

/** Roles the server lets listen (ROLE_SETS.operate); others never see the button. */
const LISTEN_ROLES = ['admin', 'operator'];

/** At most one listen at a time: the call page re-renders while a call runs, the session outlives its button. */
let session;

class ListenSession {
  constructor(callId, onChange) {
    this.callId = callId;
    this.onChange = onChange;
    this.frames = 0;
    this.status = t('connecting…');
    this.ended = false;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.ws = new WebSocket(`${scheme}://${location.host}/api/listen/${encodeURIComponent(callId)}?mix=both`);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (message) => this.receive(message.data);
    this.ws.onclose = (event) => this.finish(event.code === 1000 ? t('call ended') : t('closed: {reason}', { reason: event.reason || event.code }));
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      this.player?.play(data);
      this.frames++;
      return;
    }
    const message = JSON.parse(data);
    if (message.type === 'start') {
      this.context = new AudioContext();
      this.player = new PcmPlayer(this.context, message.sampleRate);
      this.status = `${t('listening')} (${message.sampleRate / 1000} kHz)`;
      this.onChange();
    }
  }

  stop() {
    this.finish(t('stopped'));
  }

  finish(status) {
    if (this.ended) return;
    this.ended = true;
    this.status = status;
    this.player?.clear();
    this.context?.close().catch(() => undefined);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'done');
    this.onChange();
  }
}

/**
 * The listen button and its status for a call page, or nothing when the call has ended or the role may not listen.
 * The status element carries `data-frames` (audio frames received) for whoever wants to see audio is flowing.
 */
export function listenControls(call, role) {
  if (call.status !== 'active' || !LISTEN_ROLES.includes(role)) return undefined;
  const mine = () => session && session.callId === call.id && !session.ended;
  const button = el('button', { id: 'listen', type: 'button', class: 'secondary' });
  const status = el('span', { id: 'listen-status', class: 'pill' });
  const render = () => {
    button.textContent = t(mine() ? '⏹ Stop listening' : '🎧 Listen in');
    status.textContent = session?.callId === call.id ? session.status : '';
    status.dataset.frames = String(session?.callId === call.id ? session.frames : 0);
  };
  button.addEventListener('click', () => {
    if (mine()) session.stop();
    else {
      session?.stop();
      session = new ListenSession(call.id, render);
    }
    render();
  });
  // The frame count moves without messages to re-render on; a light timer keeps the status current while shown.
  const timer = setInterval(() => (button.isConnected ? render() : clearInterval(timer)), 500);
  render();
  return el('div', { class: 'controls listen' }, button, status);
}
