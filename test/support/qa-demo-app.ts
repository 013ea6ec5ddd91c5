/** The whole app with QA rules on the zh demo flow, and a simulated demo call into it: shared by the QA end-to-end tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startCallpilot, type CallpilotApp } from '../../src/app.ts';
import { demoConversation, synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import { configSchema } from '../../src/config/index.ts';
import { runSimulatedCall } from '../../src/pbx/index.ts';
import { issueToken } from './auth.ts';
import { MODELS, REPO_ROOT } from './e2e.ts';

export interface QaDemoApp {
  readonly app: CallpilotApp;
  /** Closes the app and removes its folder. */
  close(): Promise<void>;
}

/** Starts the app on the shipped demo flows with `rules` (a QA YAML file) in a temp folder of its own. */
export async function startQaDemoApp(rules: string, opts: { log: Logger; record: boolean; folderPrefix: string }): Promise<QaDemoApp> {
  const dir = mkdtempSync(join(tmpdir(), opts.folderPrefix));
  writeFileSync(join(dir, 'demo.yaml'), rules);
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'recordings') },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
    media: { record: opts.record },
    qa: { rulesDir: dir },
  });
  const app = await startCallpilot(config, { log: opts.log, modelsRoot: MODELS, cwd: REPO_ROOT });
  return {
    app,
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The zh demo conversation, spoken by the espeak caller over the app's /media WebSocket as an operator's call. */
export async function simulateDemoCall(app: CallpilotApp, from: string): ReturnType<typeof runSimulatedCall> {
  const token = await issueToken(app.store, 'operator');
  const turns = await synthesizeCallerTurns(demoConversation('zh'), 'zh', 8000);
  return runSimulatedCall({
    url: `${app.url.replace(/^http/, 'ws')}/media`,
    token,
    start: { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo', from },
    turns,
    hangupAfterQuietMs: 1500,
    maxCallMs: 60_000,
  });
}
