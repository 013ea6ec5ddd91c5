/** A callpilot app on the shipped flows (demo by default), the tiny model and an operator token, for engine tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCallpilot, type CallpilotApp } from '../../src/app.ts';
import { configSchema } from '../../src/config/index.ts';
import { issueToken } from '../support/auth.ts';
import { testLog } from '../support/run-log.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));

export interface DemoApp {
  app: CallpilotApp;
  /** Operator token: the media WebSocket needs credentials. */
  token: string;
  /** The media WebSocket's URL. */
  mediaUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the app in a scratch folder named after `prefix`; `close()` stops it and removes the folder. `bargeIn`:
 * settings of `dialog.bargeIn` other than the defaults.
 */
export async function startDemoApp(prefix: string, bargeIn: Record<string, unknown> = {}): Promise<DemoApp> {
  const dir = mkdtempSync(join(tmpdir(), `callpilot-${prefix}-`));
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'recordings') },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh', bargeIn },
    media: { record: false },
  });
  let app: CallpilotApp | undefined;
  try {
    app = await startCallpilot(config, { log: testLog(), modelsRoot: MODELS, cwd: REPO_ROOT });
    const token = await issueToken(app.store, 'operator');
    const started = app;
    return {
      app: started,
      token,
      mediaUrl: `${started.url.replace(/^http/, 'ws')}/media`,
      close: async () => {
        await started.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
