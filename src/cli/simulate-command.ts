import { parseArgs } from 'node:util';
import { startCallpilot, type CallpilotApp } from '../app.ts';
import { loadConfig } from '../config/index.ts';
import type { CallTimelineEvent } from '../dialog/index.ts';
import { createLogger } from '../observability/index.ts';
import { readWavAs, runSimulatedCall, type CallerTurn } from '../pbx/index.ts';
import { synthesizeCallerTurns, demoConversation } from './caller-voice.ts';
import { ensureModels } from './models-command.ts';

/**
 * `callpilot simulate`: a phone call into the bot over the media WebSocket, in real time (8 kHz mu-law, 20 ms
 * frames), printing the timeline. Uses the server at --url (or the config's address) when one is running,
 * otherwise starts one in this process.
 */
export async function runSimulate(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      wav: { type: 'string' },
      lang: { type: 'string', default: 'zh' },
      flow: { type: 'string' },
      url: { type: 'string' },
      config: { type: 'string' },
      token: { type: 'string' },
    },
  });
  let token = values.token ?? process.env.CALLPILOT_TOKEN;
  const lang = values.lang === 'en' ? 'en' : 'zh';
  const config = loadConfig({ path: values.config });
  let base = values.url ?? `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.port}`;
  let embedded: CallpilotApp | undefined;
  if (!(await reachable(base))) {
    out(`no callpilot answering at ${base}; starting one in this process`);
    const log = createLogger({ level: 'warn' });
    await ensureModels(config, log);
    embedded = await startCallpilot({ ...config, server: { ...config.server, host: '127.0.0.1', port: 0 } }, { log });
    base = embedded.url;
  }
  // The server in this process: a short-lived operator token of our own, revoked when the call is done.
  let ownTokenId: string | undefined;
  if (embedded && !token) {
    const created = await embedded.auth.tokens.create({ role: 'operator', name: 'simulate', expiresAt: new Date(Date.now() + 3_600_000), createdBy: 'cli' });
    token = created.token;
    ownTokenId = created.info.id;
  }
  if (!token) {
    out(`callpilot at ${base} needs a token: pass --token or set CALLPILOT_TOKEN (create one with: callpilot tokens create --role operator)`);
    return 2;
  }
  try {
    let turns: CallerTurn[];
    if (values.wav) {
      turns = [{ pcm: readWavAs(values.wav, 8000), text: `(${values.wav})`, mode: 'atStart' }];
      out(`calling ${base} with ${values.wav}`);
    } else {
      const script = demoConversation(lang);
      out(`calling ${base} with a demo caller (${lang}): ${script.map((t) => `"${t.text}"${t.mode === 'bargeIn' ? ' (over the bot)' : ''}`).join(', ')}`);
      turns = await synthesizeCallerTurns(script, lang, 8000);
    }
    let t0: number | undefined;
    const report = await runSimulatedCall({
      url: `${base.replace(/^http/, 'ws')}/media`,
      token,
      start: { codec: 'pcmu', sampleRate: 8000, lang, flow: values.flow, from: 'simulator' },
      turns,
      onNotice: (notice, at) => {
        if (notice.event !== 'timeline') return;
        t0 ??= at;
        const line = describe(notice as unknown as CallTimelineEvent);
        if (line) out(`${((at - t0) / 1000).toFixed(2).padStart(7)}s  ${line}`);
      },
    });
    out(`call ${report.callId} ended: ${report.endReason} after ${(report.durationMs / 1000).toFixed(1)} s`);
    for (const t of report.turns) {
      const parts = [`caller "${t.text}"`];
      if (t.latencyMs !== undefined) parts.push(`reply after ${t.latencyMs.toFixed(0)} ms on the wire`);
      if (t.bargeInStopMs !== undefined) parts.push(`bot stopped ${t.bargeInStopMs.toFixed(0)} ms after the caller started`);
      out(`  ${parts.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 300)); // the server finishes storing the call
    const res = await fetch(`${base}/api/calls/${encodeURIComponent(report.callId)}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok) {
      const body = (await res.json()) as { call?: { disposition?: string; recordingDir?: string } };
      out(`stored: disposition ${body.call?.disposition ?? '?'}; recordings in ${body.call?.recordingDir ?? '(none)'}`);
      out(`details: ${base}/api/calls/${report.callId}`);
    }
    return 0;
  } finally {
    if (ownTokenId) await embedded?.auth.tokens.revoke(ownTokenId).catch(() => undefined);
    await embedded?.close();
  }
}

async function reachable(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function describe(e: CallTimelineEvent): string | undefined {
  switch (e.type) {
    case 'speechStart':
      return 'caller  speech starts';
    case 'speechEnd':
      return 'caller  speech ends';
    case 'partial':
      return undefined;
    case 'final':
      return `caller  "${e.text}"${e.earlyEndpoint ? ' (early endpoint: expected answer)' : ''}`;
    case 'dtmf':
      return `caller  DTMF ${e.digits}`;
    case 'noInput':
      return 'caller  (no input)';
    case 'bot':
      return `bot     "${e.text}"`;
    case 'botAudioStart':
      return `bot     audio starts${e.latencyMs !== undefined ? ` — turn latency ${e.latencyMs.toFixed(0)} ms` : ''}`;
    case 'bargeIn':
      return `barge-in: bot stopped ${e.stopMs.toFixed(0)} ms after caller onset (caller heard ${(e.heardMs / 1000).toFixed(2)} s)`;
    case 'resume':
      return `bot     resumes (${e.reason})`;
    case 'echoIgnored':
      return 'bot     ignored its own echo';
    case 'end':
      return `call ends: ${e.disposition} (by ${e.by})`;
  }
}
