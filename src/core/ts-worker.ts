/**
 * Starts a worker thread on one of our TypeScript modules. A worker does not inherit the parent's tsx loader, so
 * the bootstrap registers its own before importing the module; a failure to load is posted back as
 * `{ kind: 'failed', message }`, the message every worker here sends when it cannot start. The worker side of that
 * contract (`parentChannel`, `startOrFail`) is below.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';

/**
 * tsx's ESM register API, read from tsx's package exports because require.resolve would pick the CommonJS build,
 * which cannot register there.
 */
function tsxRegisterUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const entry = manifest.exports['./esm/api']?.import?.default;
  if (!entry) throw new Error(`tsx at ${manifestPath} has no ./esm/api export to load a worker with`);
  return pathToFileURL(join(dirname(manifestPath), entry)).href;
}

export function startTsWorker(module: URL, name: string, workerData: unknown): Worker {
  const bootstrap =
    `import(${JSON.stringify(tsxRegisterUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })` +
    // A dynamic import, not require: the bootstrap runs as CommonJS or as ESM depending on the parent's --input-type.
    `.catch((err) => import('node:worker_threads').then(({ parentPort }) => parentPort.postMessage({ kind: 'failed', message: String(err && err.stack || err) })));`;
  return new Worker(bootstrap, { eval: true, name, workerData });
}

/** Why a worker did not come up: what it posted, an error it threw, or its exit before it said it was ready. */
export type WorkerStartFailure = { kind: 'failed'; message: string } | { kind: 'error'; error: Error } | { kind: 'exit'; code: number };

/**
 * Resolves when the worker posts `{ kind: 'ready' }`. Otherwise the worker is terminated and the promise rejects with
 * the error `describe` makes of the failure, so a worker that dies while loading fails its start instead of hanging it.
 */
export function workerReady(worker: Worker, describe: (failure: WorkerStartFailure) => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (failure?: WorkerStartFailure): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (!failure) return resolve();
      void worker.terminate();
      reject(describe(failure));
    };
    const onMessage = (reply: { kind?: unknown; message?: unknown }): void => {
      if (reply.kind === 'ready') done();
      else if (reply.kind === 'failed') done({ kind: 'failed', message: String(reply.message) });
    };
    const onError = (error: Error): void => done({ kind: 'error', error });
    const onExit = (code: number): void => done({ kind: 'exit', code });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** What a worker posts when it has started, or why it could not: the messages `workerReady` waits for. */
export type WorkerFailedReply = { kind: 'failed'; message: string };
export type WorkerStartReply = { kind: 'ready' } | WorkerFailedReply;

/** The worker side of the thread: answers to the parent, and the parent's requests, typed by the worker's protocol. */
export interface ParentChannel<Request, Reply> {
  reply(message: Reply, transfer?: ArrayBuffer[]): void;
  onRequest(handle: (request: Request) => void): void;
}

/** The channel to the parent; `module` names the worker in the error when it was run on the main thread. */
export function parentChannel<Request, Reply>(module: string): ParentChannel<Request, Reply> {
  const port = parentPort;
  if (!port) throw new Error(`${module} must run inside a worker thread`);
  return {
    reply: (message, transfer) => port.postMessage(message, transfer),
    onRequest: (handle) => {
      port.on('message', handle);
    },
  };
}

/** The `failed` message for an error thrown while a worker starts. */
export function startFailed(err: unknown): WorkerFailedReply {
  return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Builds a worker's engine and posts `ready`; or posts why it could not and rethrows, which ends the worker once the
 * parent has the reason.
 */
export function startOrFail<T>(reply: (message: WorkerStartReply) => void, start: () => T): T {
  try {
    const engine = start();
    reply({ kind: 'ready' });
    return engine;
  } catch (err) {
    reply(startFailed(err));
    throw err;
  }
}
