import { loadConfigWithSource } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { parseCommandArgs } from './cli-args.ts';
import { listenEarly, type EarlyBind, type EarlyListener } from './early-listener.js';
import { installProcessGuards } from './process-guards.ts';

export { PortInUseError } from './early-listener.js';

export const START_USAGE = `usage: callpilot start [--config FILE]

Runs the server: HTTP API, web console (/), /healthz, /readyz, /metrics, media WebSockets and the configured PBX
adapters, until SIGINT/SIGTERM. Logs are pino JSON lines on stdout; the one human line goes to stderr.

  --config FILE  config file (default: $CALLPILOT_CONFIG, then configs/callpilot.yaml, then built-in defaults)`;

/**
 * The socket bin/callpilot.js bound before tsx loaded, if it is the configured address (its guess skips the schema);
 * otherwise bind now. A bind the launcher saw fail is reported only for the configured address.
 */
async function takeEarlyListener(early: EarlyBind | undefined, host: string, port: number): Promise<EarlyListener> {
  const same = early !== undefined && early.host === host && early.port === port;
  if (same && early.listener) return early.listener;
  if (same && early.error) throw early.error;
  await early?.listener?.close();
  return listenEarly(host, port);
}

/**
 * `callpilot start`: run until SIGINT/SIGTERM, then drain: refuse new calls, let live ones finish for up to
 * server.drainTimeoutMs, end the rest with reason `shutdown`, store every end, close, exit 0. A second signal
 * ends the live calls at once, stores what it can within a few seconds and exits 1.
 */
export async function runStart(args: string[], earlyBind?: EarlyBind): Promise<number> {
  try {
    return await runStartOn(args, earlyBind);
  } finally {
    // A start that failed (bad config, models missing) must not leave the launcher's socket open: the process
    // would not exit. After the take-over this is a no-op; the app closes the server.
    await earlyBind?.listener?.close();
  }
}

async function runStartOn(args: string[], earlyBind: EarlyBind | undefined): Promise<number> {
  const { values } = parseCommandArgs(args, START_USAGE, { config: { type: 'string' } });
  const { config, file } = loadConfigWithSource({ path: values.config });
  const log = createLogger(config.log);
  let countUnhandled: () => void = () => undefined;
  const uninstall = installProcessGuards(log, () => countUnhandled());
  try {
    log.info({ config: file ?? '(built-in defaults)' }, 'config loaded');
    // Bind the port before importing the app (seconds of module loading when the machine is busy): /healthz answers
    // within moments and a taken port fails at once, before any model is looked at.
    const early = await takeEarlyListener(earlyBind, config.server.host, config.server.port);
    // stdout stays pure JSON (log shippers read it); people read stderr.
    process.stderr.write(`callpilot listening on ${early.url} (starting: ${early.url}/readyz shows progress)\n`);
    let app: Awaited<ReturnType<typeof import('../app.ts').startCallpilot>>;
    try {
      const { checkModels, logModelChoice } = await import('./models-command.ts');
      logModelChoice(checkModels(config), log);
      const { startCallpilot } = await import('../app.ts');
      app = await startCallpilot(config, { log, prebound: early, onStage: (stage) => early.setStage(stage) });
    } catch (err) {
      await early.close();
      throw err;
    }
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
