import type { Logger } from 'pino';

/**
 * Process-level safety net for `callpilot start`: a promise rejection nothing handled is logged and counted
 * (`callpilot_unhandled_errors_total`) instead of killing every live call with the process. Installed by the CLI
 * only, never by library code, so embedding callpilot keeps the host's own policy. Returns the uninstaller.
 */
export function installProcessGuards(log: Logger, count: () => void): () => void {
  const onRejection = (reason: unknown): void => {
    count();
    log.error({ err: reason instanceof Error ? reason : new Error(String(reason)) }, 'unhandled promise rejection (the process goes on)');
  };
  process.on('unhandledRejection', onRejection);
  return () => void process.off('unhandledRejection', onRejection);
}
