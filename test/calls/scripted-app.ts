import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { startCallpilot, type CallpilotApp } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import { ScriptedSpeechEngine, ToneSpeaker } from '../engine/engine-fakes.ts';
import { issueToken } from '../support/auth.ts';
import { LogLeakDetector } from '../support/log-leak-detector.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ScriptedApp {
  app: CallpilotApp;
  dir: string;
  recordingsDir: string;
  wsUrl: string;
  speech: ScriptedSpeechEngine;
  /** An operator token: /media and /metrics need credentials. */
  token: string;
  /** When the test gave no logger: the production logger at debug, checked for full numbers and secrets on dispose. */
  leaks?: LogLeakDetector;
  dispose(): Promise<void>;
}

/**
 * The real app (store, engine, admission, HTTP server, /media route, drain) around scripted listening and tone
 * prompts: orchestration tests need no models and start in well under a second.
 */
export async function startScriptedApp(
  server: Record<string, unknown> = {},
  opts: { log?: Logger; dir?: string; speech?: ScriptedSpeechEngine; store?: Record<string, unknown>; sections?: Record<string, unknown> } = {},
): Promise<ScriptedApp> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'callpilot-hardening-'));
  const recordingsDir = join(dir, 'recordings');
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0, ...server },
    log: { level: 'silent' },
    store: { path: join(dir, 'calls.db'), recordingsDir, ...opts.store },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
    media: { record: true },
    ...opts.sections,
  });
  const speech = opts.speech ?? new ScriptedSpeechEngine();
  // CALLPILOT_TEST_LOG shows the logs instead (unchecked), for debugging a test.
  const leaks = opts.log || process.env.CALLPILOT_TEST_LOG ? undefined : new LogLeakDetector({ secrets: recordingKeyOf(opts.store) });
  const log = opts.log ?? leaks?.log ?? pino({ level: process.env.CALLPILOT_TEST_LOG ?? 'silent' });
  const app = await startCallpilot(config, { log, cwd: REPO_ROOT, speech, speaker: new ToneSpeaker() });
  const token = await issueToken(app.store, 'operator');
  return {
    app,
    dir,
    token,
    leaks,
    recordingsDir,
    wsUrl: `${app.url.replace(/^http/, 'ws')}/media`,
    speech,
    dispose: async () => {
      await app.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      leaks?.assertClean('callpilot logs of this test');
    },
  };
}

function recordingKeyOf(store: Record<string, unknown> | undefined): string[] {
  const key = store?.recordingKey;
  return typeof key === 'string' ? [key] : [];
}
