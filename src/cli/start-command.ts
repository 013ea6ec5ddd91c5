import { parseArgs } from 'node:util';
import { startCallpilot } from '../app.ts';
import { loadConfigWithSource } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { ensureModels } from './models-command.ts';
import { installProcessGuards } from './process-guards.ts';

/**
 * `callpilot start`: run until SIGINT/SIGTERM, then drain: refuse new calls, let live ones finish for up to
 * server.drainTimeoutMs, end the rest with reason `shutdown`, store every end, close, exit 0. A second signal
 * ends the live calls at once, stores what it can within a few seconds and exits 1.
 */
export async function runStart(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  const { config, file } = loadConfigWithSource({ path: values.config });
  const log = createLogger(config.log);
  let countUnhandled: () => void = () => undefined;
  const uninstall = installProcessGuards(log, () => countUnhandled());
  try {
    log.info({ config: file ?? '(built-in defaults)' }, 'config loaded');
    await ensureModels(config, log);
    const app = await startCallpilot(config, { log });
    countUnhandled = () => app.metrics.unhandledErrors.inc();
    process.stdout.write(`callpilot listening on ${app.url} — console ${app.url}/ , try: npx callpilot simulate\n`);
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info({ signal, drainTimeoutMs: config.server.drainTimeoutMs }, 'shutting down: draining live calls');
    const forced = new Promise<number>((resolve) => {
      const force = (second: string): void => {
        log.warn({ signal: second }, 'second signal: ending live calls now');
        // close() ends every call with reason shutdown and stores the ends; give it a few seconds, no more.
        const timer = setTimeout(() => resolve(1), 5000);
        timer.unref();
        void app.close().finally(() => resolve(1));
      };
      process.once('SIGINT', () => force('SIGINT'));
      process.once('SIGTERM', () => force('SIGTERM'));
    });
    const code = await Promise.race([app.drain().then(() => 0), forced]);
    log.info({ code }, 'callpilot stopped');
    return code;
  } finally {
    uninstall();
  }
}
