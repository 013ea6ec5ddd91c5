import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { resolveModel } from '../../src/speech/index.ts';

export interface ServerSpec {
  repoRoot: string;
  port: number;
  /** Registry name or folder of the ASR model. */
  asrModel: string;
  /** Scratch folder for the SQLite db, recordings and the server log. */
  workDir: string;
  record: boolean;
  /** Folders searched for models (CALLPILOT_MODELS), e.g. ../shared/models next to the repo. */
  modelDirs: string[];
  logLevel?: string;
  /** An audio end-of-turn ONNX model for the server (speech.endpoint.turnModel.path); none when absent. */
  turnModel?: string;
  /** Further CALLPILOT_* settings (e.g. the realistic bench's flows folder). */
  extraEnv?: Record<string, string>;
  /** Node flags for the server process (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
}

export interface RunningServer {
  pid: number;
  baseUrl: string;
  dbPath: string;
  logPath: string;
  /** Operator token for the media WebSocket (created through the CLI on the server's store once it is ready). */
  token: string;
  /** How the process ended, if it already has (something other than the bench stopped it). */
  exited(): string | undefined;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves with the exit code (or signal). */
  stop(graceMs?: number): Promise<string>;
}

/**
 * The child's environment: ours minus every CALLPILOT_* variable (the config loader rejects names it does not
 * know, and a stray override in the caller's shell must not change what is measured), plus the bench's settings.
 * CALLPILOT_MODELS (model search folders, not a config key) is kept, after the bench's own folders.
 */
export function serverEnv(spec: ServerSpec, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('CALLPILOT_')) env[k] = v;
  const modelDirs = [...spec.modelDirs, ...(base.CALLPILOT_MODELS ? [base.CALLPILOT_MODELS] : [])];
  return {
    ...env,
    ...(modelDirs.length > 0 ? { CALLPILOT_MODELS: modelDirs.join(delimiter) } : {}),
    CALLPILOT_SERVER_HOST: '127.0.0.1',
    CALLPILOT_SERVER_PORT: String(spec.port),
    CALLPILOT_STORE_PATH: join(spec.workDir, 'callpilot.db'),
    CALLPILOT_STORE_RECORDINGS_DIR: join(spec.workDir, 'recordings'),
    CALLPILOT_LOG_LEVEL: spec.logLevel ?? 'warn',
    CALLPILOT_SPEECH_ASR_MODEL: spec.asrModel,
    CALLPILOT_MEDIA_RECORD: spec.record ? 'true' : 'false',
    ...(spec.turnModel ? { CALLPILOT_SPEECH_ENDPOINT_TURN_MODEL_PATH: spec.turnModel } : {}),
    ...spec.extraEnv,
  };
}

/**
 * Starts `node bin/callpilot.js start` as a child process (so /proc CPU and RSS figures are the server's alone)
 * and waits until it answers /readyz.
 */
export async function startServer(spec: ServerSpec, readyTimeoutMs = 180_000): Promise<RunningServer> {
  const env = serverEnv(spec, process.env);
  // The server's own lookup, before it starts: a model that is not installed fails here, naming the folders
  // searched and the pull command, not after a minute of waiting for /readyz.
  resolveModel(spec.asrModel, { env, modelsDir: env.CALLPILOT_SPEECH_MODELS_DIR });
  const logPath = join(spec.workDir, 'server.log');
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, [...(spec.nodeArgs ?? []), 'bin/callpilot.js', 'start'], {
    cwd: spec.repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let exited: string | undefined;
  const exit = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit ${code}`;
      resolve(exited);
    });
  });
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  const stop = async (graceMs = 15_000): Promise<string> => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await exit;
    clearTimeout(timer);
    log.end();
    return result;
  };
  const deadline = performance.now() + readyTimeoutMs;
  while (performance.now() < deadline) {
    if (exited) {
      log.end();
      throw new Error(`server exited (${exited}) before it was ready; log ${logPath}:\n${tail(logPath, 30)}`);
    }
    // Only /readyz: the early listener answers /healthz at once, long before the media socket is served.
    if (await httpOk(`${baseUrl}/readyz`)) {
      const token = await createToken(spec);
      return { pid: child.pid!, baseUrl, dbPath: join(spec.workDir, 'callpilot.db'), logPath, token, stop, exited: () => exited };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`server not ready after ${readyTimeoutMs} ms; log ${logPath}:\n${tail(logPath, 30)}`);
}

/** `callpilot tokens create` against the bench server's store (same environment), as an operator would. */
async function createToken(spec: ServerSpec): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/callpilot.js', 'tokens', 'create', '--role', 'operator', '--name', 'bench'], {
    cwd: spec.repoRoot,
    env: serverEnv(spec, process.env),
  });
  const token = stdout.split(/\s+/).find((w) => w.startsWith('cpt_'));
  if (!token) throw new Error(`no token in the output of callpilot tokens create: ${stdout}`);
  return token;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

export function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
