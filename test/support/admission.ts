import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { type CallpilotApp, startCallpilot } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import type { SpeechEngine } from '../../src/speech/index.ts';
import { ScriptedSpeechEngine, ToneSpeaker } from '../engine/engine-fakes.ts';
import { issueToken } from './auth.ts';
import { REPO_ROOT } from './e2e.ts';
import { testLog } from './run-log.ts';
import { poll } from './wait.ts';

/**
 * The maxCalls admission check every PBX wire shares (issue 9): fill callpilot to maxCalls, the next call is refused
 * on the wire before anything is set up for it and counted once in callpilot_calls_refused_total{wire}; the
 * admitted calls go on; once one ends a new call is admitted again and nothing more is counted.
 */

export { poll } from './wait.ts';

/** The real app on a scratch folder with scripted listening and tone prompts, configured for one PBX. */
export async function withPbxApp(
  opts: { server: Record<string, unknown>; pbx: Record<string, unknown>; port?: number; speech?: SpeechEngine },
  run: (app: CallpilotApp) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-maxcalls-'));
  let app: CallpilotApp | undefined;
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', port: opts.port ?? 0, ...opts.server },
      log: { level: 'silent' },
      store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'rec') },
      media: { record: false },
      dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh', noInputTimeoutMs: 60_000 },
      pbx: opts.pbx,
    });
    app = await startCallpilot(config, { log: testLog(), cwd: REPO_ROOT, speech: opts.speech ?? new ScriptedSpeechEngine(), speaker: new ToneSpeaker() });
    await run(app);
  } finally {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** callpilot_calls_refused_total for one wire (and one reason if given), read from /metrics as Prometheus would. */
export async function refusedCount(app: CallpilotApp, wire: string, reason?: string): Promise<number> {
  const token = await issueToken(app.store, 'operator');
  const text = await (await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('callpilot_calls_refused_total{') && l.includes(`wire="${wire}"`) && (reason === undefined || l.includes(`reason="${reason}"`)));
  return lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** One PBX peer as the admission check drives it. */
export interface AdmissionWire<Call> {
  /** The label callpilot_calls_refused_total carries for this wire. */
  name: string;
  /** Places inbound call number `n` (1-based) and returns the peer's handle. */
  place(n: number): Promise<Call>;
  /** The call was admitted: its media runs. */
  running(call: Call): boolean;
  /** Waits for the wire's refusal of `call` and checks nothing was set up for it on the wire. */
  expectRefused(call: Call): Promise<void>;
  /** The call is still up on the PBX. */
  alive(call: Call): boolean;
  hangUp(call: Call): Promise<void>;
  pbxCallId(call: Call): string;
}

export async function checkAdmission<Call>(app: CallpilotApp, wire: AdmissionWire<Call>, maxCalls: number): Promise<void> {
  const admitted: Call[] = [];
  for (let n = 1; n <= maxCalls; n++) admitted.push(await wire.place(n));
  await poll(() => admitted.every((c) => wire.running(c)), `${maxCalls} calls running`, 15_000);

  const refused = await wire.place(maxCalls + 1);
  await wire.expectRefused(refused);
  assert.is(wire.running(refused), false, 'no media for the refused call');
  assert.is((await app.store.calls.listCalls()).filter((c) => c.pbxCallId === wire.pbxCallId(refused)).length, 0, 'no row for the refused call');
  assert.is(await refusedCount(app, wire.name), 1);
  assert.ok(admitted.every((c) => wire.alive(c)), 'the admitted calls go on');
  assert.is((await app.store.calls.listCalls({ status: 'active' })).length, maxCalls);

  await wire.hangUp(admitted[0]!);
  await poll(async () => (await app.store.calls.listCalls({ status: 'ended' })).length === 1, 'call 1 ended', 10_000);
  const next = await wire.place(maxCalls + 2);
  await poll(() => wire.running(next), 'a call admitted again below maxCalls', 15_000);
  assert.is(await refusedCount(app, wire.name), 1, 'the admitted call was not counted as refused');
}
