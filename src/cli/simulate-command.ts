import { resolve } from 'node:path';
import { startCallpilot, type CallpilotApp } from '../app.ts';
import { loadConfig } from '../config/index.ts';
import { isLang, LANGS, type Lang } from '../core/index.ts';
import { checkCallTarget, createFlowDialogFactory, type CallTimelineEvent } from '../dialog/index.ts';
import { createLogger } from '../observability/index.ts';
import { readWavAs, runSimulatedCall, type CallerTurn } from '../pbx/index.ts';
import { synthesizeCallerTurns, demoConversation } from './caller-voice.ts';
import { parseCommandArgs, UsageError } from './cli-args.ts';
import { checkModels } from './models-command.ts';
import { recordingTurnFigures, scriptedTurnFigures, speechSegments, summaryLines, timelineLine } from './simulate-summary.ts';

export const SIMULATE_USAGE = `usage: callpilot simulate [--wav FILE] [--lang zh|en] [--flow NAME] [--url URL --token TOKEN] [--config FILE]

Calls the bot like a phone (8 kHz mu-law, 20 ms frames, in real time) over the media WebSocket and prints the
timeline, then one latency per caller turn measured on the wire (end of the caller's speech -> first bot audio)
and the barge-in figure. Uses the server at --url (or the config's address) when one answers, otherwise starts
one in this process.

  --wav FILE     play this recording into the call (any WAV; resampled to 8 kHz); each utterance in it is a turn
  --lang zh|en   language of the call (default: dialog.defaultLang)
  --flow NAME    flow to run (default: dialog.defaultFlow); see configs/flows/
  --url URL      callpilot to call (default: http://<server.host>:<server.port>)
  --token TOKEN  API token (operator) for a running server (default: $CALLPILOT_TOKEN); a server started here
                 gets a short-lived token of its own
  --config FILE  config file`;

/**
 * `callpilot simulate`: returns 0 when the call completed, 1 when it failed, 2 on a usage error (unknown option,
 * flow or language).
 */
export async function runSimulate(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseCommandArgs(args, SIMULATE_USAGE, {
    wav: { type: 'string' },
    lang: { type: 'string' },
    flow: { type: 'string' },
    url: { type: 'string' },
    config: { type: 'string' },
    token: { type: 'string' },
  });
  let token = values.token ?? process.env.CALLPILOT_TOKEN;
  if (values.lang !== undefined && !isLang(values.lang)) {
    throw new UsageError(`unknown language "${values.lang}"; valid: ${LANGS.join(', ')}`, SIMULATE_USAGE);
  }
  const config = loadConfig({ path: values.config });
  const lang: Lang = (values.lang as Lang | undefined) ?? config.dialog.defaultLang;
  let base = values.url ?? `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.port}`;
  const remote = await reachable(base);
  if (!remote || values.url === undefined) {
    // The flows this config loads: a remote server started from the same config has the same ones.
    const dialogs = await createFlowDialogFactory({
      flowsDir: resolve(config.dialog.flowsDir),
      defaultFlow: config.dialog.defaultFlow,
      defaultLang: config.dialog.defaultLang,
      llm: config.dialog.llm,
      log: createLogger({ level: 'silent' }),
      watch: false,
    });
    const target = checkCallTarget(dialogs.flows(), { flow: values.flow, lang }, { flow: config.dialog.defaultFlow, lang: config.dialog.defaultLang });
    dialogs.close();
    if (!target.ok) throw new UsageError(target.message, SIMULATE_USAGE);
  }
  let embedded: CallpilotApp | undefined;
  if (!remote) {
    out(`no callpilot answering at ${base}; starting one in this process`);
    const models = checkModels(config);
    if (models.demo) out(`ASR: demo model ${models.asr.name} (knows only the demo/flow vocabulary)`);
    // Its logs go to stderr: stdout carries this command's report.
    const log = createLogger({ level: 'warn' }, process.stderr);
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
    throw new UsageError(`callpilot at ${base} needs a token: pass --token or set CALLPILOT_TOKEN (create one with: callpilot tokens create --role operator)`, SIMULATE_USAGE);
  }
  try {
    let turns: CallerTurn[];
    let wavPcm: Int16Array | undefined;
    if (values.wav) {
      wavPcm = readWavAs(values.wav, 8000);
      turns = [{ pcm: wavPcm, text: values.wav, mode: 'atStart' }];
      out(`calling ${base} with ${values.wav} (${(wavPcm.length / 8000).toFixed(1)} s)`);
    } else {
      const script = demoConversation(lang);
      out(`calling ${base} with a demo caller (${lang}): ${script.map((t) => `"${t.text}"${t.mode === 'bargeIn' ? ' (over the bot)' : ''}`).join(', ')}`);
      turns = await synthesizeCallerTurns(script, lang, 8000);
    }
    let t0: number | undefined;
    let failure: string | undefined;
    const report = await runSimulatedCall({
      url: `${base.replace(/^http/, 'ws')}/media`,
      token,
      start: { codec: 'pcmu', sampleRate: 8000, lang, flow: values.flow, from: 'simulator' },
      turns,
      onNotice: (notice, at) => {
        if (notice.event !== 'timeline') return;
        t0 ??= at;
        const event = notice as unknown as CallTimelineEvent;
        if (event.type === 'end' && event.by === 'error') failure = event.disposition;
        const line = timelineLine(event);
        if (line) out(`${((at - t0) / 1000).toFixed(2).padStart(7)}s  ${line}`);
      },
    });
    out(`call ${report.callId} ended: ${report.endReason} after ${(report.durationMs / 1000).toFixed(1)} s`);
    const figures = wavPcm
      ? recordingTurnFigures(speechSegments(wavPcm, 8000), report.turns[0]?.speechStartAt ?? report.connectedAt, report.botBursts, 'speech at')
      : scriptedTurnFigures(report);
    for (const line of summaryLines(figures)) out(line);
    const stored = await storedCall(base, report.callId, token);
    if (stored) {
      out(`stored: disposition ${stored.disposition ?? '?'}; recordings in ${stored.recordingDir ?? '(none)'}`);
      out(`details: ${base}/api/calls/${report.callId}`);
      if (stored.disposition === 'error') failure ??= 'error';
    }
    if (failure !== undefined) {
      out(`the call failed (disposition ${failure}); see the server log for the reason`);
      return 1;
    }
    return 0;
  } finally {
    if (ownTokenId) await embedded?.auth.tokens.revoke(ownTokenId).catch(() => undefined);
    await embedded?.close();
  }
}

/** The stored call, once the server has written its end (it does so right after the socket closes). */
async function storedCall(base: string, callId: string, token: string): Promise<{ disposition?: string; recordingDir?: string } | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await fetch(`${base}/api/calls/${encodeURIComponent(callId)}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { call?: { disposition?: string; recordingDir?: string; endedAt?: string } };
      if (body.call?.disposition || attempt === 19) return body.call;
    } else if (res && res.status !== 404) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

async function reachable(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}
