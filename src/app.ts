import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createHttpServer, type HttpServer } from './api/index.ts';
import type { Config } from './config/index.ts';
import {
  CallEngine,
  createFlowDialogFactory,
  flowPromptTexts,
  type CallControl,
  type EngineMetrics,
  type FlowDialogFactory,
  type Lang,
} from './dialog/index.ts';
import { createMediaWebSocketRoute, createResampler, type AudioLeg, type WebSocketRoute } from './media/index.ts';
import { createLogger, createMetrics, type Metrics } from './observability/index.ts';
import {
  createPbxAdapters,
  type HangupInfo,
  type OriginateRequest,
  type PbxAdapter,
  type PbxCall,
  type TransferTarget,
} from './pbx/index.ts';
import { createSpeechEngine, createTtsEngine, createSpeaker, resolveModel, type Speaker, type SpeechEngine, type TtsEngine } from './speech/index.ts';
import { openSqliteStore, sweepRecordings, type CallStore } from './store/index.ts';

export interface CallpilotApp {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080 */
  url: string;
  store: CallStore;
  engine: CallEngine;
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
    const store = openSqliteStore(resolve(cwd, config.store.path), { log });
    closers.push(() => store.close());
    const interrupted = store.recoverInterruptedCalls(new Date());
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

    const warming = { done: 0, total: 0, stopped: false };
    closers.push(() => void (warming.stopped = true));
    const engine = new CallEngine({
      speech,
      speaker,
      dialogs,
      store,
      dialogConfig: config.dialog,
      recordingsDir: config.media.record ? recordingsDir : undefined,
      log,
      metrics: engineMetrics(metrics),
    });
    closers.push(() => engine.shutdown());

    const adapters = await createPbxAdapters(config.pbx, {
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      clock: { callerGapMs: config.media.callerGapMs, deadMediaMs: config.media.deadMediaMs },
    });
    for (const adapter of adapters) {
      adapter.on('call', (call) => void runPbxCall(engine, store, call, log));
    }

    const mediaRoute = createMediaWebSocketRoute({
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      onLeg: (leg, start) => {
        void engine.runCall({
          leg,
          pbx: 'simulator',
          direction: 'inbound',
          from: start.from,
          to: start.to,
          flow: start.flow,
          lang: start.lang,
          variables: start.variables,
          onEvent: (event) => {
            leg.sendNotice({ event: 'timeline', ...event });
            if (event.type === 'final') leg.sendNotice({ event: 'transcript', text: event.text, final: true });
            else if (event.type === 'partial') leg.sendNotice({ event: 'transcript', text: event.text, final: false });
            else if (event.type === 'bot') leg.sendNotice({ event: 'bot', text: event.text });
          },
        });
      },
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
      originate: adapters.length > 0 ? (req) => originate(adapters, engine, store, req, log) : undefined,
    });
    const url = await server.listen();
    // Legs run at 8 kHz (G.711) or 16 kHz (mod_audio_stream, slin16): warm the rates this site uses.
    const rates: (8000 | 16000)[] = config.pbx.freeswitch || config.pbx.asterisk?.format === 'slin16' ? [8000, 16000] : [8000];
    void warmPrompts(dialogs, speaker, rates, config.dialog.defaultFlow, warming, log);
    closers.push(() => server.close());
    // Adapters start after the server listens: PBXs connect back to our WebSocket routes.
    for (const adapter of adapters) {
      await adapter.start();
      closers.push(() => adapter.stop());
    }
    log.info({ url, pbx: adapters.map((a) => a.kind) }, 'callpilot started');
    return { url, store, engine, metrics, adapters, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Synthesizes every static prompt of every flow ahead of the first call (default flow first), one at a time so
 * it never competes much with live calls.
 */
async function warmPrompts(
  dialogs: FlowDialogFactory,
  speaker: Speaker,
  rates: (8000 | 16000)[],
  defaultFlow: string,
  progress: { done: number; total: number; stopped: boolean },
  log: Logger,
): Promise<void> {
  const names = Object.keys(dialogs.flows()).sort((a, b) => Number(b === defaultFlow) - Number(a === defaultFlow));
  const jobs: { text: string; lang: Lang; rate: 8000 | 16000 }[] = [];
  for (const name of names) {
    for (const lang of dialogs.flows()[name] ?? []) {
      const flow = dialogs.flow(name, lang);
      if (!flow) continue;
      for (const text of flowPromptTexts(flow)) for (const rate of rates) jobs.push({ text, lang, rate });
    }
  }
  progress.total = jobs.length;
  const started = performance.now();
  for (const job of jobs) {
    if (progress.stopped) return;
    try {
      await speaker.warm(job.text, job.lang, job.rate);
    } catch (err) {
      log.warn({ err, text: job.text }, 'could not synthesize a prompt ahead of time');
    }
    progress.done++;
  }
  log.info({ prompts: jobs.length, ms: Math.round(performance.now() - started) }, 'flow prompts synthesized ahead of calls');
}

function engineMetrics(m: Metrics): EngineMetrics {
  return {
    callStarted: () => m.activeCalls.inc(),
    callEnded: (disposition) => {
      m.activeCalls.dec();
      m.callsTotal.inc({ disposition });
    },
    turn: (latency) => {
      m.turnsTotal.inc();
      if (latency !== undefined) m.turnLatency.observe(latency);
    },
    bargeIn: (stop) => m.bargeInStop.observe(stop),
    legStats: (s) => {
      m.lateFrames.inc(s.lateFrames);
      m.droppedFrames.inc(s.droppedFrames);
    },
  };
}

function readiness(
  adapters: PbxAdapter[],
  warming: { done: number; total: number },
): { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> } {
  const checks: Record<string, { ok: boolean; detail?: string }> = {
    speech: { ok: true },
    // Informational: calls work before it is done, their first prompts are just synthesized on the spot.
    prompts: { ok: true, detail: warming.total === 0 || warming.done < warming.total ? `warming ${warming.done}/${warming.total}` : `${warming.total} cached` },
  };
  for (const a of adapters) checks[a.kind] = { ok: a.ready, detail: a.ready ? undefined : a.notReadyReason };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

/** Answer a PBX call, bring up its media and run it through the engine; the call record gets the Q.850 cause. */
async function runPbxCall(engine: CallEngine, store: CallStore, call: PbxCall, log: Logger, callId?: string): Promise<void> {
  const info = call.info;
  const clog = log.child({ pbxCallId: info.pbxCallId, callId });
  let hangup: HangupInfo | undefined;
  let leg: AudioLeg | undefined;
  call.once('hangup', (h) => {
    hangup = h;
    void leg?.close({ code: h.by === 'bot' ? 'bot_hangup' : 'caller_hangup', detail: `${h.cause} ${h.causeText}` });
  });
  try {
    if (info.direction === 'inbound') await call.answer();
    leg = await call.openMedia();
    if (hangup) await leg.close({ code: 'caller_hangup', detail: 'hung up while media was set up' });
    const control: CallControl = {
      hangup: () => call.hangup(16),
      transfer: (_reason, notes, target) => call.transfer(parseTransferTarget(target), notes),
    };
    const outcome = await engine.runCall({
      leg,
      callId,
      pbx: info.pbx,
      pbxCallId: info.pbxCallId,
      direction: info.direction,
      from: info.from,
      to: info.to,
      flow: info.flow,
      lang: info.lang,
      variables: info.variables,
      control,
    });
    // The PBX reports the cause a moment after our side ended; wait briefly for it.
    if (!hangup) await new Promise<void>((r) => setTimeout(r, 2000).unref()).then(() => undefined);
    if (hangup) store.updateCall(outcome.callId, { hangupCause: hangup.cause, hangupBy: hangup.by });
  } catch (err) {
    clog.error({ err }, 'PBX call failed before the dialog could run');
    await call.hangup(41).catch(() => undefined); // 41 temporary failure
  }
}

/**
 * `target` from a flow: `context,extension[,priority]` is a dialplan location, something with `/` or `@` a dial
 * string (PJSIP/..., sofia/...); a bare name (`agents`) or nothing means the agent destination configured for
 * the PBX.
 */
function parseTransferTarget(target: string | undefined): TransferTarget | undefined {
  if (!target) return undefined;
  const parts = target.split(',');
  if (parts.length >= 2) return { kind: 'dialplan', context: parts[0]!, extension: parts[1]!, priority: parts[2] ? Number(parts[2]) : undefined };
  if (/[/@]/.test(target)) return { kind: 'endpoint', endpoint: target };
  return undefined;
}

async function originate(
  adapters: PbxAdapter[],
  engine: CallEngine,
  store: CallStore,
  body: unknown,
  log: Logger,
): Promise<{ callId: string } | { error: string }> {
  const req = body as OriginateRequest & { pbx?: string };
  const adapter = adapters.find((a) => !req.pbx || a.kind === req.pbx);
  if (!adapter) return { error: `no PBX adapter ${req.pbx ?? ''} is configured` };
  const callId = randomUUID();
  // The attempt is stored before dialling, so a crash mid-dial leaves a record.
  store.createCall({
    id: callId,
    pbx: adapter.kind,
    direction: 'outbound',
    to: req.endpoint,
    from: req.callerId,
    flow: req.flow,
    lang: req.lang ?? 'zh',
    status: 'active',
    startedAt: new Date().toISOString(),
    variables: req.variables ?? {},
  });
  void adapter
    .originate(req)
    .then(async (result) => {
      if (result.disposition === 'answered') {
        await runPbxCall(engine, store, result.call, log, callId);
        return;
      }
      store.updateCall(callId, {
        status: 'ended',
        endedAt: new Date().toISOString(),
        disposition: result.disposition,
        hangupCause: result.cause,
        hangupBy: 'pbx',
      });
    })
    .catch((err: unknown) => {
      log.error({ err, callId }, 'originate failed');
      store.updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'failed' });
    });
  return { callId };
}
