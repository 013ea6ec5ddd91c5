import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createHttpServer, type HttpServer } from './api/index.ts';
import type { Config } from './config/index.ts';
import { engineMetrics, OutboundCallService, PbxCallRunner, readiness, runMediaWebSocketCall } from './calls/index.ts';
import { CallEngine, createFlowDialogFactory, warmFlowPrompts, type PromptWarmingProgress } from './dialog/index.ts';
import { createMediaWebSocketRoute, createResampler, type WebSocketRoute } from './media/index.ts';
import { createLogger, createMetrics, type Metrics } from './observability/index.ts';
import { createPbxAdapters, type PbxAdapter } from './pbx/index.ts';
import { createSpeechEngine, createTtsEngine, createSpeaker, resolveModel, type Speaker, type SpeechEngine, type TtsEngine } from './speech/index.ts';
import { openStore, sweepRecordings, type Store } from './store/index.ts';

export interface CallpilotApp {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080 */
  url: string;
  store: Store;
  engine: CallEngine;
  /** Places outbound calls (API, campaigns); undefined without a PBX. */
  outbound?: OutboundCallService;
  metrics: Metrics;
  adapters: PbxAdapter[];
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Folder searched for models after config paths (tests point it at ../shared/models). */
  modelsRoot?: string;
  /** Resolve relative paths in the config against this folder (default: process.cwd()). */
  cwd?: string;
}

const RETENTION_SWEEP_MS = 6 * 3600_000;

/** Starts one callpilot process: store, speech engines, dialogs, PBX adapters and the HTTP server. */
export async function startCallpilot(config: Config, opts: StartOptions = {}): Promise<CallpilotApp> {
  const log = opts.log ?? createLogger(config.log);
  const cwd = opts.cwd ?? process.cwd();
  const closers: (() => Promise<void> | void)[] = [];
  let closing: Promise<void> | undefined;
  // Last started, first closed; a second close() waits for the first instead of closing again.
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      for (const close of [...closers].reverse()) await Promise.resolve(close()).catch((err: unknown) => log.warn({ err }, 'close failed'));
    })());
  try {
    const store = await openStore(config.store, resolve(cwd, config.store.path), { log });
    closers.push(() => store.close());
    const interrupted = await store.calls.recoverInterruptedCalls(new Date());
    if (interrupted.length > 0) log.warn({ calls: interrupted.map((c) => c.id) }, 'calls interrupted by the last shutdown were closed');
    const recordingsDir = resolve(cwd, config.store.recordingsDir);
    // Never rejects: folders it cannot read or delete are logged and skipped.
    const sweep = (): void => void sweepRecordings(recordingsDir, config.store.retentionDays, new Date(), { log });
    sweep();
    const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
    sweepTimer.unref();
    closers.push(() => clearInterval(sweepTimer));

    const metrics = createMetrics();
    const speech: SpeechEngine = await createSpeechEngine(config.speech, { log, modelsRoot: opts.modelsRoot });
    closers.push(() => speech.close());
    const asrTimer = setInterval(() => metrics.asrRealTimeFactor.set(speech.asrRealTimeFactor()), 5000);
    asrTimer.unref();
    closers.push(() => clearInterval(asrTimer));
    const tts: TtsEngine = await createTtsEngine(config.speech.tts, {
      log,
      resolveModelDir: (name) => resolveModel(name, { modelsDir: config.speech.modelsDir, rootDir: opts.modelsRoot }).dir,
    });
    closers.push(() => tts.close());
    const speaker: Speaker = createSpeaker(tts, { cacheSize: config.speech.tts.cacheSize, log, resample: createResampler });
    const dialogs = await createFlowDialogFactory({
      flowsDir: resolve(cwd, config.dialog.flowsDir),
      defaultFlow: config.dialog.defaultFlow,
      defaultLang: config.dialog.defaultLang,
      llm: config.dialog.llm,
      log,
    });
    closers.push(() => dialogs.close());

    const warming: PromptWarmingProgress = { done: 0, total: 0, stopped: false };
    closers.push(() => void (warming.stopped = true));
    const engine = new CallEngine({
      speech,
      speaker,
      dialogs,
      store: store.calls,
      dialogConfig: config.dialog,
      recordingsDir: config.media.record ? recordingsDir : undefined,
      log,
      metrics: engineMetrics(metrics),
    });
    closers.push(() => engine.shutdown());

    const adapters = await createPbxAdapters(config.pbx, { log, maxQueuedMs: config.media.maxQueuedMs });
    const runner = new PbxCallRunner({ engine, calls: store.calls, log });
    for (const adapter of adapters) adapter.on('call', (call) => void runner.run(call));
    const outbound = adapters.length > 0 ? new OutboundCallService({ adapters, calls: store.calls, runner, log }) : undefined;

    const mediaRoute = createMediaWebSocketRoute({
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      onLeg: (leg, start) => runMediaWebSocketCall(engine, leg, start, log),
    });
    const routes: WebSocketRoute[] = [mediaRoute, ...adapters.flatMap((a) => a.webSocketRoutes())];

    const server: HttpServer = await createHttpServer({
      config: config.server,
      log,
      metrics,
      store,
      webSocketRoutes: routes,
      recordingsDir,
      readiness: () => readiness(adapters, warming),
      originate: outbound ? (req) => outbound.placeCall(req) : undefined,
    });
    const url = await server.listen();
    // Legs run at 8 kHz (G.711) or 16 kHz (mod_audio_stream, slin16): warm the rates this site uses.
    const rates: (8000 | 16000)[] = config.pbx.freeswitch || config.pbx.asterisk?.format === 'slin16' ? [8000, 16000] : [8000];
    void warmFlowPrompts(dialogs, speaker, rates, config.dialog.defaultFlow, warming, log);
    closers.push(() => server.close());
    // Adapters start after the server listens: PBXs connect back to our WebSocket routes.
    for (const adapter of adapters) {
      await adapter.start();
      closers.push(() => adapter.stop());
    }
    log.info({ url, pbx: adapters.map((a) => a.kind) }, 'callpilot started');
    return { url, store, engine, outbound, metrics, adapters, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
