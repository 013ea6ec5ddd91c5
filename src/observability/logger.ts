import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from './config.ts';

/**
 * The process logger: pino JSON lines with ISO timestamps. Call-scoped code logs through
 * `log.child({ callId })` so every line of a call can be grepped out.
 */
export function createLogger(cfg: LogConfig, dest?: DestinationStream): Logger {
  const options = {
    level: cfg.level,
    base: { service: 'callpilot' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return dest ? pino(options, dest) : pino(options);
}
