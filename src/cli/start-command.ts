import { createServer } from 'node:net';
import { startCallpilot } from '../app.ts';
import { loadConfigWithSource } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { parseCommandArgs } from './cli-args.ts';
import { checkModels, logModelChoice } from './models-command.ts';

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

/** `callpilot start`: run until SIGINT/SIGTERM, then end live calls and close cleanly. */
export async function runStart(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, START_USAGE, { config: { type: 'string' } });
  const { config, file } = loadConfigWithSource({ path: values.config });
  const log = createLogger(config.log);
  log.info({ config: file ?? '(built-in defaults)' }, 'config loaded');
  await assertPortFree(config.server.host, config.server.port);
  const models = checkModels(config);
  logModelChoice(models, log);
  // stdout stays pure JSON (log shippers read it); people read stderr.
  const app = await startCallpilot(config, {
    log,
    onListening: (url) => process.stderr.write(`callpilot listening on ${url} (loading models: ${url}/readyz shows progress)\n`),
  });
  process.stderr.write(`callpilot ready on ${app.url} — console ${app.url}/ , try: npx callpilot simulate\n`);
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
