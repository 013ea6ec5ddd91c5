import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { envVarName } from '../../src/config/index.ts';

/**
 * An ASR model the server under test loads: `tiny` and `cost-proxy` (the two in ../shared/models), or any other
 * model the product can load, by registry name or alias (`zh-en`, installed by `callpilot models pull`) or by
 * folder. The figures the test models cannot give (a released model's own latency and accuracy) are measured so.
 */
export type BenchModel = string;

/** What one `npm run bench` invocation should do. */
export interface BenchOptions {
  /** Concurrency levels, run one after another, each against a fresh server. */
  calls: number[];
  models: BenchModel[];
  /** Caller languages, assigned round-robin over the calls of a level. */
  langs: ('zh' | 'en')[];
  /** Call starts are spread evenly over this window so they do not align on the same 20 ms tick. */
  staggerMs: number;
  /** Port of the server under test (a fresh child process per level). */
  port: number;
  /** Append the table to bench/RESULTS.md (off for quick experiments). */
  write: boolean;
  /** Seed for the per-call variation of pauses and barge-in points (runs are repeatable). */
  seed: number;
  /** Let the server record caller/bot/mixed WAVs as it does by default (disk writes are part of the cost). */
  record: boolean;
  /** Keep each level's scratch folder (db, recordings, server log) instead of deleting it. */
  keep: boolean;
  /** Print every call's timeline and turn measurements (for small runs and debugging). */
  verbose: boolean;
  /** Server log level (warn by default: logging is part of the cost, but info per frame event would swamp it). */
  logLevel: string;
  /** An audio end-of-turn ONNX model the server runs (`--turn-model FILE`, absolute); none by default. */
  turnModel?: string;
  /** Every caller's line returns the bot's audio 100 ms late and this many dB down (no echo when unset). */
  echoLossDb?: number;
  /** `--set key=value`: config settings of the server under test, as environment variables (CALLPILOT_...). */
  serverEnv: Record<string, string>;
  /** `--retry-refused MS`: a call the server refuses dials again after this long, as a dialer would (0: never). */
  retryRefusedMs: number;
}

export const DEFAULT_CALLS: readonly number[] = [1, 20, 50, 100];

export const MODEL_DIRS: Readonly<Record<'tiny' | 'cost-proxy', string>> = {
  tiny: 'callpilot-tiny-zh-en',
  'cost-proxy': 'callpilot-cost-proxy',
};

/** What the server's `speech.asr.model` is set to for a bench model: the test models' folder names, else as given. */
export function asrModelSetting(model: BenchModel): string {
  return model === 'tiny' || model === 'cost-proxy' ? MODEL_DIRS[model] : model;
}

/**
 * Parses the bench command line. `costProxyAvailable` decides the `--model` default: both models when the
 * cost proxy is on disk, otherwise only the tiny one (the proxy is large and not always shipped).
 */
export function parseBenchArgs(argv: string[], costProxyAvailable: boolean): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      calls: { type: 'string' },
      model: { type: 'string' },
      lang: { type: 'string', default: 'zh,en' },
      stagger: { type: 'string', default: '2000' },
      port: { type: 'string', default: '18480' },
      'no-write': { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      'no-record': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
      'turn-model': { type: 'string' },
      'echo-loss-db': { type: 'string' },
      set: { type: 'string', multiple: true },
      // A dialer dials a refused call again; without it a burst the admission ramp spreads out would shrink the level.
      'retry-refused': { type: 'string', default: '2000' },
    },
    strict: true,
  });
  const calls = values.calls === undefined ? [...DEFAULT_CALLS] : parseIntList(values.calls, '--calls');
  const modelArg = values.model ?? (costProxyAvailable ? 'both' : 'tiny');
  const models = modelArg === 'both' ? ['tiny', 'cost-proxy'] : [modelChoice(modelArg)];
  const langs = values.lang.split(',').map((s) => s.trim());
  for (const l of langs) if (l !== 'zh' && l !== 'en') throw new Error(`--lang takes zh, en or zh,en, not "${l}"`);
  return {
    calls,
    models,
    langs: langs as ('zh' | 'en')[],
    staggerMs: positiveInt(values.stagger, '--stagger', true),
    port: positiveInt(values.port, '--port', false),
    write: !values['no-write'],
    seed: positiveInt(values.seed, '--seed', true),
    record: !values['no-record'],
    keep: values.keep,
    verbose: values.verbose,
    logLevel: values['log-level'],
    ...(values['turn-model'] ? { turnModel: resolve(values['turn-model']) } : {}),
    ...(values['echo-loss-db'] !== undefined ? { echoLossDb: positiveInt(values['echo-loss-db'], '--echo-loss-db', false) } : {}),
    serverEnv: Object.fromEntries((values.set ?? []).map(settingEnv)),
    retryRefusedMs: positiveInt(values['retry-refused'], '--retry-refused', true),
  };
}

/** A folder is made absolute (the server runs in the repository); a name is kept for the server's model lookup. */
function modelChoice(arg: string): BenchModel {
  if (arg.trim() === '') throw new Error('--model takes tiny, cost-proxy, both, a model name (zh-en) or a model folder');
  const looksLikePath = arg.includes('/') || arg.includes('\\') || arg.startsWith('.');
  return looksLikePath ? resolve(arg) : arg;
}

/** `server.maxAsrBacklogMs=0` -> [CALLPILOT_SERVER_MAX_ASR_BACKLOG_MS, '0'] (the server's loader checks the key). */
function settingEnv(setting: string): [string, string] {
  const at = setting.indexOf('=');
  if (at <= 0) throw new Error(`--set takes key=value (a config key such as server.maxAsrBacklogMs=0), not "${setting}"`);
  return [envVarName(setting.slice(0, at).split('.')), setting.slice(at + 1)];
}

function parseIntList(s: string, name: string): number[] {
  const out = s.split(',').map((x) => positiveInt(x.trim(), name, false));
  if (out.length === 0) throw new Error(`${name} needs at least one number`);
  return out;
}

function positiveInt(s: string, name: string, zeroOk: boolean): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new Error(`${name}: "${s}" is not a ${zeroOk ? 'non-negative' : 'positive'} integer`);
  return n;
}
