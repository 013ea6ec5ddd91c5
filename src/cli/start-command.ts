import { parseArgs } from 'node:util';
import { startCallpilot } from '../app.ts';
import { loadConfigWithSource } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { ensureModels } from './models-command.ts';

/** `callpilot start`: run until SIGINT/SIGTERM, then end live calls and close cleanly. */
export async function runStart(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const { config, file } = loadConfigWithSource({ path: values.config });
  const log = createLogger(config.log);
  log.info({ config: file ?? '(built-in defaults)' }, 'config loaded');
  await ensureModels(config, log);
  const app = await startCallpilot(config, { log });
  process.stdout.write(`callpilot listening on ${app.url} — console ${app.url}/ , try: npx callpilot simulate\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await app.close();
  return 0;
}
