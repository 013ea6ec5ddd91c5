import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { startCallpilot, type CallpilotApp } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import { ScriptedSpeechEngine, ToneSpeaker } from '../engine/engine-fakes.ts';
import { issueToken } from '../support/auth.ts';
import { addLogSecret, testLog } from '../support/run-log.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ScriptedApp {
  app: CallpilotApp;
  dir: string;
  recordingsDir: string;
  wsUrl: string;
  speech: ScriptedSpeechEngine;
  /** An operator token: /media and /metrics need credentials. */
  token: string;
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
  for (const key of recordingKeyOf(opts.store)) addLogSecret(key);
  const log = opts.log ?? testLog();
  const app = await startCallpilot(config, { log, cwd: REPO_ROOT, speech, speaker: new ToneSpeaker() });
  const token = await issueToken(app.store, 'operator');
  return {
    app,
    dir,
    token,
    recordingsDir,
    wsUrl: `${app.url.replace(/^http/, 'ws')}/media`,
    speech,
    dispose: async () => {
      await app.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function recordingKeyOf(store: Record<string, unknown> | undefined): string[] {
  const key = store?.recordingKey;
  return typeof key === 'string' ? [key] : [];
}
