import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { maskValue } from '../core/index.ts';
import type { LogConfig } from './config.ts';

/**
 * Fields whose values may carry a phone, card or ID number: caller/callee numbers, dial strings and endpoints,
 * flow variables and NLU slots, transcript text and error texts that can quote them. pino's redaction hands each one to the
 * masker, at the top level and one level down (`{ call: { from } }`, `{ event: { text } }`), child bindings
 * included. Anything else a log line needs to say about a number goes through `maskNumber` at the call site.
 */
const NUMBER_FIELDS = [
  'from',
  'to',
  'caller',
  'callee',
  'callerId',
  'number',
  'phone',
  'endpoint',
  'dial',
  'dialString',
  'destination',
  'target',
  'where',
  'variables',
  'text',
  'callerText',
  'botText',
  'transcript',
  'slots',
  'digits',
  // ESL errors carry the command they were sending (`err.command`): an originate quotes the callee and its variables.
  'command',
];
/** Fields that can carry a secret (config passwords, API keys, auth headers): replaced whole, never masked. */
const SECRET_FIELDS = ['password', 'apiKey', 'secret', 'authorization', 'cookie'];
const SECRET_FIELD_SET: ReadonlySet<string> = new Set(SECRET_FIELDS);
export const REDACTED_LOG_PATHS: readonly string[] = [
  ...NUMBER_FIELDS,
  ...NUMBER_FIELDS.map((f) => `*.${f}`),
  'err.message',
  'err.stack',
  'reason',
  'detail',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
];

function censor(value: unknown, path: string[]): unknown {
  return SECRET_FIELD_SET.has(path[path.length - 1] ?? '') ? '[secret]' : maskValue(value);
}

/** pino options that mask numbers in every line; exported so tests can build loggers over their own streams. */
export function loggerOptions(cfg: LogConfig): LoggerOptions {
  return {
    level: cfg.level,
    base: { service: 'callpilot' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACTED_LOG_PATHS], censor },
  };
}

/**
 * The process logger: pino JSON lines with ISO timestamps and masked numbers (号码脱敏). Call-scoped code logs
 * through `log.child({ callId })` so every line of a call can be grepped out.
 */
export function createLogger(cfg: LogConfig, dest?: DestinationStream): Logger {
  const options = loggerOptions(cfg);
  return dest ? pino(options, dest) : pino(options);
}
