import { createServer } from 'node:net';
import { startCallpilot } from '../app.ts';
import { loadConfigWithSource } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { parseCommandArgs } from './cli-args.ts';
import { checkModels, logModelChoice } from './models-command.ts';
import { installProcessGuards } from './process-guards.ts';

export const START_USAGE = `usage: callpilot start [--config FILE]

Runs the server: HTTP API, web console (/), /healthz, /readyz, /metrics, media WebSockets and the configured PBX
adapters, until SIGINT/SIGTERM. Logs are pino JSON lines on stdout; the one human line goes to stderr.

  --config FILE  config file (default: $CALLPILOT_CONFIG, then configs/callpilot.yaml, then built-in defaults)`;

export class PortInUseError extends Error {
  constructor(host: string, port: number, code: string) {
    super(
      `cannot listen on ${host}:${port} (${code}): ${code === 'EADDRINUSE' ? 'another process uses that port' : 'not allowed'}. ` +
        'Stop it, or choose another port: --config with server.port, or CALLPILOT_SERVER_PORT=9000',
    );
    this.name = 'PortInUseError';
  }
}

/** Fails in milliseconds on a taken port, before seconds of model loading would end in EADDRINUSE anyway. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new PortInUseError(host, port, err.code ?? err.message)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * `callpilot start`: run until SIGINT/SIGTERM, then drain: refuse new calls, let live ones finish for up to
 * server.drainTimeoutMs, end the rest with reason `shutdown`, store every end, close, exit 0. A second signal
 * ends the live calls at once, stores what it can within a few seconds and exits 1.
 */
export async function runStart(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, START_USAGE, { config: { type: 'string' } });
  const { config, file } = loadConfigWithSource({ path: values.config });
  const log = createLogger(config.log);
  let countUnhandled: () => void = () => undefined;
  const uninstall = installProcessGuards(log, () => countUnhandled());
  try {
    log.info({ config: file ?? '(built-in defaults)' }, 'config loaded');
    await assertPortFree(config.server.host, config.server.port);
    const models = checkModels(config);
    logModelChoice(models, log);
    // stdout stays pure JSON (log shippers read it); people read stderr.
    const app = await startCallpilot(config, {
      log,
      onListening: (url) => process.stderr.write(`callpilot listening on ${url} (loading models: ${url}/readyz shows progress)\n`),
    });
    countUnhandled = () => app.metrics.unhandledErrors.inc();
    process.stderr.write(`callpilot ready on ${app.url} — console ${app.url}/ , try: npx callpilot simulate\n`);
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
