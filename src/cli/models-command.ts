import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseDocument } from 'yaml';
import { DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../config/index.ts';
import {
  findModelSpec,
  listModels,
  pullModel,
  resolveModel,
  ModelNotFoundError,
  type ModelSpec,
  type PullProgress,
  type PullResult,
  type ResolvedModel,
} from '../speech/index.ts';
import { parseCommandArgs, UsageError } from './cli-args.ts';

export const MODELS_USAGE = `usage: callpilot models <list|pull|use> ...

  callpilot models list [--config FILE]
      every known model: whether it is installed (and where) and which one the config uses
  callpilot models pull NAME [--sha256 HEX] [--from FILE|URL] [--force] [--lock FILE]
      download an official release into the cache, verify it, install it atomically
  callpilot models use NAME [--config FILE]
      write the model into the config file (speech.asr.model, speech.vad.model or speech.tts.*)

NAME is a registry name or alias (zh-en, sense-voice, vad, tts-zh-en); see "callpilot models list".`;

export const MODELS_LIST_USAGE = `usage: callpilot models list [--config FILE]

Lists every model callpilot knows, whether it is installed (and where it was found), and marks the ones the
config uses (speech.asr.model, speech.vad.model, speech.tts.model).`;

export const MODELS_PULL_USAGE = `usage: callpilot models pull NAME [--sha256 HEX] [--from FILE|URL] [--force] [--lock FILE]

Downloads an official release (NAME or alias: zh-en, sense-voice, vad, tts-zh-en), shows progress, checks its
sha256 and only then unpacks it into the cache (~/.cache/callpilot/models) with one atomic rename.

Integrity: a sha256 pinned in the registry or given with --sha256 is checked. Where none is published, the first
verified download is trusted (trust on first use) and its sha256 recorded in the lock file (models.lock.json at
the repository root, or --lock / $CALLPILOT_MODELS_LOCK); later pulls, here or on any node sharing that file,
must match it. Commit the lock file so every node installs the same bytes.

  --sha256 HEX      expected sha256 of the download (e.g. published beside the release)
  --from FILE|URL   take the archive from a local file (copied from a machine with internet) or a mirror
  --force           replace an installed copy
  --lock FILE       the lock file to check and record in`;

export const MODELS_USE_USAGE = `usage: callpilot models use NAME [--config FILE]

Writes the model into the config file (--config, $CALLPILOT_CONFIG or ${DEFAULT_CONFIG_PATH}; created if missing):
an ASR model as speech.asr.model, a VAD as speech.vad.model, a TTS voice as speech.tts.engine: sherpa and
speech.tts.model. The model must be installed (callpilot models pull NAME).`;

export interface ModelsCommandOptions {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress output (stderr); a TTY gets one redrawn bar, anything else a line per 10 %. */
  progress?: { write(text: string): unknown; isTTY?: boolean };
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** `callpilot models list|pull|use`. */
export async function runModelsCommand(args: string[], o: ModelsCommandOptions): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return modelsList(rest, o);
    case 'pull':
      return modelsPull(rest, o);
    case 'use':
      return modelsUse(rest, o);
    case '--help':
    case '-h':
    case 'help':
      o.out(MODELS_USAGE);
      return 0;
    default:
      throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "models ${sub}"`, MODELS_USAGE);
  }
}

/** The config keys that name models, with what they name now. */
function modelsInConfig(config: Config): Array<{ key: string; value: string }> {
  const used = [{ key: 'speech.asr.model', value: config.speech.asr.model }, { key: 'speech.vad.model', value: config.speech.vad.model ?? 'silero-vad' }];
  if (config.speech.tts.engine === 'sherpa' && config.speech.tts.model) used.push({ key: 'speech.tts.model', value: config.speech.tts.model });
  return used;
}

function modelsList(args: string[], o: ModelsCommandOptions): number {
  const { values } = parseCommandArgs(args, MODELS_LIST_USAGE, { config: { type: 'string' } });
  const config = loadConfig({ path: values.config, env: o.env, cwd: o.cwd });
  const used = modelsInConfig(config);
  const lookup = { modelsDir: config.speech.modelsDir, env: o.env };
  const usedBy = (spec: ModelStatusLike): string[] =>
    used.filter((u) => u.value === spec.name || spec.aliases.includes(u.value)).map((u) => u.key);
  const rows = listModels(lookup).map((m) => ({ ...m, aliases: findModelSpec(m.name)?.aliases ?? [] }));
  o.out(`${'model'.padEnd(60)} ${'alias'.padEnd(11)} kind status`);
  for (const m of rows) {
    const status = m.installed ? `installed (${m.source}: ${m.dir})` : m.url ? 'not installed: callpilot models pull ' + (m.aliases[0] ?? m.name) : 'not installed (local only)';
    const keys = usedBy(m);
    const mark = keys.length > 0 ? '*' : ' ';
    const notes = [m.testOnly ? 'demo/test only, never for real callers' : '', keys.length > 0 ? `used by the config (${keys.join(', ')})` : '']
      .filter(Boolean)
      .join('; ');
    o.out(`${mark} ${m.name.padEnd(58)} ${(m.aliases[0] ?? '').padEnd(11)} ${m.kind.padEnd(4)} ${status}${notes ? `  [${notes}]` : ''}`);
  }
  // Config values that are folders or unknown names do not appear in the registry list: say what they resolve to.
  for (const u of used) {
    if (rows.some((m) => m.name === u.value || m.aliases.includes(u.value))) continue;
    let where: string;
    try {
      where = resolveModel(u.value, lookup).dir;
    } catch (err) {
      if (!(err instanceof ModelNotFoundError)) throw err;
      where = 'NOT FOUND';
    }
    o.out(`* ${u.value} (${u.key}): ${where}`);
  }
  o.out('* = used by the config');
  return 0;
}

type ModelStatusLike = { name: string; aliases: readonly string[] };

async function modelsPull(args: string[], o: ModelsCommandOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    MODELS_PULL_USAGE,
    { sha256: { type: 'string' }, from: { type: 'string' }, force: { type: 'boolean' }, lock: { type: 'string' } },
    1,
  );
  const name = positionals[0];
  if (!name) throw new UsageError('missing model name', MODELS_PULL_USAGE);
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new UsageError('--sha256 takes 64 hex digits', MODELS_PULL_USAGE);
  const spec = findModelSpec(name);
  const progress = o.progress ?? process.stderr;
  const bar = progressBar(spec?.name ?? name, progress);
  let result: PullResult;
  try {
    result = await pullModel(name, {
      sha256: values.sha256,
      from: values.from ? (/^https?:\/\//.test(values.from) ? values.from : resolve(o.cwd ?? process.cwd(), values.from)) : undefined,
      force: values.force,
      lockFile: values.lock,
      onProgress: bar.update,
    });
  } finally {
    bar.done();
  }
  const trust =
    result.trust === 'first-use'
      ? `trusted on first use: no published checksum, so this download's sha256 is now recorded in ${result.lockFile}; ` +
        'later pulls and other nodes sharing that file are checked against it (commit it)'
      : `verified against ${result.trust === 'pinned' ? 'the sha256 pinned in the registry' : result.trust === 'flag' ? '--sha256' : result.lockFile}` +
        (result.recorded ? `, recorded in ${result.lockFile}` : '');
  o.out(`installed ${result.name} in ${result.dir} (${(result.bytes / 1e6).toFixed(1)} MB, sha256 ${result.sha256})`);
  o.out(trust);
  o.out(`to use it: ${configLine(findModelSpec(result.name)!)}   (or run: callpilot models use ${name})`);
  return 0;
}

/** The config setting that selects a model, as one line (YAML key path and env variable). */
export function configLine(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'asr':
      return `speech.asr.model: ${spec.name}  (env CALLPILOT_SPEECH_ASR_MODEL=${spec.name})`;
    case 'vad':
      return `speech.vad.model: ${spec.name}  (env CALLPILOT_SPEECH_VAD_MODEL=${spec.name})`;
    case 'tts':
      return `speech.tts.engine: sherpa + speech.tts.model: ${spec.name}  (env CALLPILOT_SPEECH_TTS_ENGINE=sherpa CALLPILOT_SPEECH_TTS_MODEL=${spec.name})`;
  }
}

async function modelsUse(args: string[], o: ModelsCommandOptions): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, MODELS_USE_USAGE, { config: { type: 'string' } }, 1);
  const name = positionals[0];
  if (!name) throw new UsageError('missing model name', MODELS_USE_USAGE);
  const spec = findModelSpec(name);
  if (!spec) throw new UsageError(`unknown model "${name}" (see: callpilot models list)`, MODELS_USE_USAGE);
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const file = resolve(cwd, values.config ?? (env.CALLPILOT_CONFIG || DEFAULT_CONFIG_PATH));
  try {
    resolveModel(spec.name, { modelsDir: existsSync(file) ? loadConfig({ path: file, env, cwd }).speech.modelsDir : undefined, env });
  } catch (err) {
    if (!(err instanceof ModelNotFoundError)) throw err;
    o.err(`model ${spec.name} is not installed; install it first: callpilot models pull ${name}`);
    return 1;
  }
  if (spec.testOnly) o.err(`warning: ${spec.name} is for demos/tests only and must never serve real callers`);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  // An empty file parses to a null document; start it as a map so setIn can add keys.
  const doc = parseDocument(text.trim() === '' ? '{}' : text);
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); nothing written`);
  const set: Array<[string[], string]> =
    spec.kind === 'asr'
      ? [[['speech', 'asr', 'model'], spec.name]]
      : spec.kind === 'vad'
        ? [[['speech', 'vad', 'model'], spec.name]]
        : [
            [['speech', 'tts', 'engine'], 'sherpa'],
            [['speech', 'tts', 'model'], spec.name],
          ];
  for (const [path, value] of set) doc.setIn(path, value);
  // Validate what would be written before replacing the file (temp file + rename: never half a config).
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, doc.toString());
  try {
    loadConfig({ path: tmp, env, cwd });
  } catch (err) {
    await rename(tmp, `${tmp}.rejected`);
    throw err;
  }
  await rename(tmp, file);
  o.out(`${file}: ${set.map(([p, v]) => `${p.join('.')}: ${v}`).join(', ')}`);
  o.out('restart callpilot to load it');
  return 0;
}

/** A progress bar on a TTY; elsewhere (CI logs) one line per 10 %. */
function progressBar(name: string, stream: { write(text: string): unknown; isTTY?: boolean }): { update: (p: PullProgress) => void; done: () => void } {
  const started = Date.now();
  let lastDraw = 0;
  let lastDecile = -1;
  let drew = false;
  const render = (p: PullProgress): string => {
    const mb = (p.receivedBytes / 1e6).toFixed(1);
    const rate = ((p.receivedBytes / 1e6) / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
    if (!p.totalBytes) return `downloading ${name}: ${mb} MB (${rate} MB/s)`;
    const frac = Math.min(1, p.receivedBytes / p.totalBytes);
    const width = 30;
    const filled = Math.round(frac * width);
    return `downloading ${name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb}/${(p.totalBytes / 1e6).toFixed(1)} MB ${rate} MB/s`;
  };
  return {
    update: (p) => {
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.receivedBytes !== p.totalBytes) return;
        lastDraw = now;
        stream.write(`\r${render(p)}   `);
        drew = true;
        return;
      }
      const decile = p.totalBytes ? Math.floor((10 * p.receivedBytes) / p.totalBytes) : Math.floor(p.receivedBytes / 50e6);
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`${render(p)}\n`);
    },
    done: () => {
      if (drew) stream.write('\n');
    },
  };
}

/** The models a start would load, or an error naming each missing one and the command that installs it. */
export function checkModels(config: Config, env?: Record<string, string | undefined>): { asr: ResolvedModel; demo: boolean } {
  const lookup = { modelsDir: config.speech.modelsDir, env };
  const vad = config.speech.vad.model;
  if (vad && !vad.endsWith('.onnx')) resolveModel(vad, lookup);
  else if (!vad) resolveModel('silero-vad', lookup);
  const asr = resolveModel(config.speech.asr.model, lookup);
  return { asr, demo: asr.spec?.testOnly === true };
}

/** The start-up line about the ASR model: a loud warning when the demo model serves calls. */
export function logModelChoice(models: { asr: ResolvedModel; demo: boolean }, log: Logger): void {
  if (models.demo) {
    log.warn(
      { model: models.asr.name, dir: models.asr.dir },
      `demo ASR model ${models.asr.name}: it knows only the demo/flow vocabulary; real calls need a production model: callpilot models pull zh-en && callpilot models use zh-en`,
    );
  } else {
    log.info({ model: models.asr.name, dir: models.asr.dir, source: models.asr.source }, 'ASR model');
  }
}
