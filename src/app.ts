import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createHttpServer, type HttpServer, type PreboundServer } from './api/index.ts';
import { CampaignDialer, CampaignMetrics, CampaignService, loadComplianceProfiles, systemClock, WebhookSender } from './campaign/index.ts';
import { createAuth, type Auth } from './auth/index.ts';
import type { Config } from './config/index.ts';
import { NodePresence } from './cluster/index.ts';
import { CALLPILOT_VERSION } from './core/index.ts';
import {
  CallAdmission,
  completeInterruptedCalls,
  createListenRoute,
  defaultMaxCalls,
  engineMetrics,
  LiveFeed,
  OutboundCallService,
  PbxCallRunner,
  readiness,
  runMediaWebSocketCall,
  settlePendingTransfers,
} from './calls/index.ts';
import { CallEngine, checkCallTarget, combineObservers, createFlowDialogFactory, describeFlows, warmFlowPrompts, type FlowDialogFactory, type PromptWarmingProgress } from './dialog/index.ts';
import { createMediaWebSocketRoute, createResampler, RecordingKeyring, type WebSocketRoute } from './media/index.ts';
import { startGrpcServer, type GrpcServer } from './grpc/index.ts';
import { createLogger, createMetrics, type Metrics } from './observability/index.ts';
import { createPbxAdapters, type PbxAdapter } from './pbx/index.ts';
import {
  createSpeechEngine,
  createTtsEngine,
  createSpeaker,
  EarlyMediaClassifier,
  resolveModel,
  type Speaker,
  type SpeechEngine,
  type TtsEngine,
} from './speech/index.ts';
import { openRecordingStorage, openStore, type Store } from './store/index.ts';
import { createQaMonitor, forwardQaHits, QA_WEBHOOK_CHANNEL, type QaConfig, type QaMonitor } from './qa/index.ts';

export interface CallpilotApp {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080 */
  url: string;
  store: Store;
  engine: CallEngine;
  /** Places outbound calls (API, campaigns); undefined without a PBX. */
  outbound?: OutboundCallService;
  /** Campaign lifecycle, DNC ledger. */
  campaigns: CampaignService;
  /** Dials running campaigns; undefined without a PBX or with campaigns.enabled false. */
  dialer?: CampaignDialer;
  metrics: Metrics;
  /** QA (质检) on every call; undefined when qa.enabled is false or there are no rules. */
  qa?: QaMonitor;
  /** Every call's events, QA hits and latencies for live subscribers (/api/live, /api/calls/:id/live). */
  live: LiveFeed;
  /** Streaming ASR and call control over gRPC; undefined unless grpc.enabled. */
  grpc?: GrpcServer;
  adapters: PbxAdapter[];
  /** Tokens, audit log and PBX media tokens (tests create their credentials here). */
  auth: Auth;
  /** server.maxCalls and what is free of it: the campaign dialer sizes its pace to `admission.free`. */
  admission: CallAdmission;
  /**
   * Graceful shutdown: refuse new calls (readyz 503 `draining`), let live calls finish for up to `timeoutMs`
   * (default server.drainTimeoutMs), then end the rest with reason `shutdown`, store every end and close.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Ends live calls at once with reason `shutdown`, stores their ends, then closes everything. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Folder searched for models after config paths (tests point it at ../shared/models). */
  modelsRoot?: string;
  /** Resolve relative paths in the config against this folder (default: process.cwd()). */
  cwd?: string;
  /**
   * Engines built by the caller instead of from the config's models: tests of orchestration (limits, drain,
   * crash recovery) run the real app around scripted listening and tone prompts. Closed by the caller.
   */
  speech?: SpeechEngine | Promise<SpeechEngine>;
  speaker?: Speaker;
  /** Called once the HTTP server listens, before the models are loaded (/healthz answers from then on). */
  onListening?: (url: string) => void;
  /**
   * A server already bound to server.host/port (`callpilot start` binds it before importing this module); the HTTP
   * server takes its requests over instead of listening again.
   */
  prebound?: PreboundServer;
  /** Start stages before the HTTP server takes over ("opening the store", ...): the prebound server's /readyz shows them. */
  onStage?: (stage: string) => void;
}

/** What /readyz says about the speech models while and after they load. */
export interface ModelLoading {
  ok: boolean;
  detail: string;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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
    const nodeId = config.cluster.nodeId ?? hostname();
    opts.onStage?.('opening the store');
    const store = await openStore(config.store, { log, cwd, nodeId });
    const recordingKeyring = config.store.recordingKey ? RecordingKeyring.fromConfig(config.store.recordingKey, config.store.recordingOldKeys) : undefined;
    if (recordingKeyring) log.info({ keyId: recordingKeyring.activeKeyId }, 'recordings are encrypted at rest');
    closers.push(() => store.close());
    const auth = createAuth(store);
    await checkFirstStart(auth, config.server.host, log);
    opts.onStage?.('closing calls interrupted by the last shutdown');
    const recordingStorage = await openRecordingStorage(config.store, cwd, log);
    if (recordingStorage.kind !== 'filesystem') log.info({ storage: recordingStorage.kind }, 'finished recordings go to object storage');
    closers.push(async () => recordingStorage.close?.());
    const interrupted = await store.calls.recoverInterruptedCalls(new Date());
    if (interrupted.length > 0) {
      log.warn({ calls: interrupted.map((c) => c.id) }, 'calls interrupted by the last shutdown were closed');
      const completed = await completeInterruptedCalls(store.calls, interrupted, recordingStorage.root, log, recordingKeyring, recordingStorage);
      log.warn(completed, 'interrupted calls completed: recording headers repaired, turns restored from their finals');
    }
    const recordingsDir = recordingStorage.root;
    // Never rejects: folders or objects it cannot read or delete are logged and skipped.
    const sweep = (): void => {
      void recordingStorage.sweep(config.store.retentionDays, new Date());
      // Expired console sessions are refused anyway; this only keeps the table small.
      store.tokens.deleteExpiredSessions(new Date().toISOString()).catch((err: unknown) => log.warn({ err }, 'deleting expired sessions failed'));
    };
    sweep();
    const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
    sweepTimer.unref();
    closers.push(() => clearInterval(sweepTimer));

    // Set once the models are loaded; admission and /metrics read the ASR backlog through it.
    let listening: SpeechEngine | undefined;
    // Set just below: the ramp gauge reads admission, which counts its refusals on these metrics.
    let admitting: CallAdmission | undefined;
    const metrics = createMetrics({
      version: CALLPILOT_VERSION,
      asrBacklogMs: () => listening?.asrBacklogMs?.(),
      asrBusy: () => listening?.asrBusyFraction?.(),
      admissionRamp: () => admitting?.rampState,
    });
    const vadStage = metrics.stageDuration.labels({ stage: 'vad' });
    const asrStage = metrics.stageDuration.labels({ stage: 'asr_final' });
    const ttsStage = metrics.stageDuration.labels({ stage: 'tts' });
    const maxCalls = config.server.maxCalls ?? defaultMaxCalls();
    const maxBacklogMs = config.server.maxAsrBacklogMs;
    const admission = new CallAdmission({
      maxCalls,
      overload:
        maxBacklogMs > 0
          ? { name: 'ASR backlog', setting: 'server.maxAsrBacklogMs', limitMs: maxBacklogMs, currentMs: () => listening?.asrBacklogMs?.() ?? 0 }
          : undefined,
      onRefused: (reason, wire) => metrics.callsRefused.inc({ reason, wire }),
      ramp:
        config.server.rampCalls > 0
          ? { calls: config.server.rampCalls, windowMs: config.server.rampWindowMs, busy: () => listening?.asrBusyFraction?.() }
          : undefined,
    });
    admitting = admission;
    // The HTTP server listens before the models load (seconds to tens of seconds): /healthz answers at once and
    // /readyz reports the loading; a bad port fails now, not after the load.
    const models: ModelLoading = { ok: false, detail: 'loading ASR+VAD, TTS' };
    const warming: PromptWarmingProgress = { done: 0, total: 0, stopped: false };
    closers.push(() => void (warming.stopped = true));
    opts.onStage?.('starting the HTTP server');
    const adapters = await createPbxAdapters(config.pbx, {
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      clock: { callerGapMs: config.media.callerGapMs, deadMediaMs: config.media.deadMediaMs },
      mediaToken: (callKey) => auth.mediaTokens.issue(callKey),
    });
    for (const adapter of adapters) {
      const pbx = adapter.kind;
      metrics.pbxConnected.set({ pbx }, adapter.ready ? 1 : 0);
      let up = adapter.ready;
      adapter.on('mediaRejected', (transport, reason) => metrics.mediaRejected.inc({ pbx, transport, reason }));
      adapter.on('ready', (ready) => {
        metrics.pbxConnected.set({ pbx }, ready ? 1 : 0);
        if (up && !ready) metrics.pbxDisconnects.inc({ pbx });
        up = ready;
      });
    }
    const profiles = loadComplianceProfiles(resolve(cwd, config.campaigns.profilesFile));
    const campaigns = new CampaignService({
      store: store.campaigns,
      clock: systemClock,
      profiles,
      callerIdPool: config.campaigns.callerIdPool,
      defaultCountry: config.campaigns.defaultCountry,
    });
    const campaignMetrics = new CampaignMetrics({ registry: metrics.registry, store: store.campaigns, log, profiles, maxCampaigns: config.campaigns.metricsMaxCampaigns });
    // CRM webhooks run on every node, PBX or not: rows are claimed one sender at a time, so nodes share the outbox.
    const webhooks = new WebhookSender({
      store: store.campaigns,
      calls: store.calls,
      clock: systemClock,
      log: log.child({ component: 'webhooks' }),
      maxTries: config.campaigns.webhookMaxTries,
      backoffSec: config.campaigns.webhookBackoffSec,
      maxBackoffSec: config.campaigns.webhookMaxBackoffSec,
      timeoutSec: config.campaigns.webhookTimeoutSec,
      maskNumbers: config.campaigns.webhookMaskNumbers,
      pollMs: config.campaigns.webhookPollMs,
      onTry: campaignMetrics.webhookTry,
      channels: qaWebhookChannels(config.qa),
    });
    webhooks.start();
    closers.push(() => webhooks.stop());
    let engine: CallEngine | undefined;
    let dialogs: FlowDialogFactory | undefined;
    let outbound: OutboundCallService | undefined;
    const loaded = deferred<CallEngine>();
    // A media WebSocket call that arrives while the models load waits for them (or fails with the load).
    loaded.promise.catch(() => undefined);
    const mediaRoute = createMediaWebSocketRoute({
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      admit: () => {
        const result = admission.tryAdmit('media');
        return result.ok ? { ok: true, release: result.ticket.release } : { ok: false, detail: result.detail };
      },
      onLeg: (leg, start, release) =>
        void loaded.promise.then(
          (ready) => runMediaWebSocketCall(ready, leg, start, log, release),
          (err: unknown) => {
            release();
            void leg.close({ code: 'shutdown', detail: `models failed to load: ${(err as Error).message}` }).catch(() => undefined);
          },
        ),
    });
    // Listen-in: supervisors hear a running call from its recording taps (docs/listen-in.md).
    const listenRoute = createListenRoute({ taps: () => engine, audit: auth.audit, log });
    const routes: WebSocketRoute[] = [mediaRoute, listenRoute, ...adapters.flatMap((a) => a.webSocketRoutes())];

    let advertised = config.cluster.advertiseUrl ?? '';
    const startedAt = new Date().toISOString();
    const presence = new NodePresence({
      nodes: store.nodes,
      calls: store.calls,
      self: () => ({ id: nodeId, address: advertised, version: CALLPILOT_VERSION, capacity: maxCalls, liveCalls: engine?.activeCalls ?? 0, draining: admission.draining, startedAt }),
      heartbeatMs: config.cluster.heartbeatMs,
      deadAfterMs: config.cluster.deadAfterMs,
      log,
    });

    const live = new LiveFeed({ log: log.child({ component: 'live' }), registry: metrics.registry });
    const server: HttpServer = await createHttpServer({
      live,
      config: config.server,
      prebound: opts.prebound,
      log,
      metrics,
      store,
      webSocketRoutes: routes,
      recordingsDir,
      recordingStorage,
      recordingKeyring,
      readiness: () => readiness(adapters, warming, store, admission, models),
      auth,
      metricsPublic: config.observability.metricsPublic,
      originate:
        adapters.length > 0
          ? (req) => (outbound ? outbound.placeCall(req) : Promise.resolve({ error: 'models are still loading; retry when /readyz is ready' }))
          : undefined,
      checkCallTarget: (target) => {
        if (!dialogs) return { ok: true };
        const verdict = checkCallTarget(dialogs.flows(), target, { flow: config.dialog.defaultFlow, lang: config.dialog.defaultLang });
        return verdict.ok ? { ok: true } : { ok: false, field: verdict.field, message: verdict.message, valid: verdict.field === 'flow' ? verdict.validFlows : verdict.validLangs };
      },
      nodes: () => presence.list(),
      flows: () => (dialogs ? describeFlows(dialogs) : []),
      pbx: () => adapters.map((a) => ({ kind: a.kind, connected: a.ready, ...(a.notReadyReason && !a.ready ? { detail: a.notReadyReason } : {}) })),
      campaigns,
      webhooks,
    });
    const url = await server.listen();
    closers.push(() => server.close());
    opts.onListening?.(url);

    // ASR + VAD and TTS load side by side (espeak's WASM compile and the ONNX sessions are independent).
    const loadStarted = performance.now();
    const modelLookup = { modelsDir: config.speech.modelsDir, rootDir: opts.modelsRoot };
    const pending = new Set(['ASR+VAD', 'TTS']);
    const progress = <T>(part: string, p: Promise<T>): Promise<T> =>
      p.then((value) => {
        pending.delete(part);
        models.detail = `loading ${[...pending].join(', ')} (${part} loaded in ${Math.round(performance.now() - loadStarted)} ms)`;
        return value;
      });
    const [speechResult, speakerResult] = await Promise.allSettled([
      opts.speech
        ? progress('ASR+VAD', Promise.resolve(opts.speech))
        : progress('ASR+VAD', createSpeechEngine(config.speech, {
            log,
            modelsRoot: opts.modelsRoot,
            vadTarget: maxCalls,
            timings: { vad: (s) => vadStage.observe(s), asrFinal: (s) => asrStage.observe(s), echoSkipped: (s) => metrics.asrEchoSkipped.inc(s) },
          })).then((s) => {
            closers.push(() => s.close());
            return s;
          }),
      opts.speaker
        ? Promise.resolve(opts.speaker)
        : progress('TTS', createTtsEngine(config.speech.tts, { log, resolveModelDir: (name) => resolveModel(name, modelLookup).dir })).then((tts) => {
            closers.push(() => tts.close());
            return createSpeaker(tts, { cacheSize: config.speech.tts.cacheSize, log, resample: createResampler, onSynthesized: (s) => ttsStage.observe(s) });
          }),
    ]);
    if (speechResult.status === 'rejected' || speakerResult.status === 'rejected') {
      const err: unknown = speechResult.status === 'rejected' ? speechResult.reason : (speakerResult as PromiseRejectedResult).reason;
      models.detail = `failed: ${(err as Error).message}`;
      loaded.reject(err);
      throw err;
    }
    const speech: SpeechEngine = speechResult.value;
    listening = speech;
    const speaker: Speaker = speakerResult.value;
    const asrTimer = setInterval(() => metrics.asrRealTimeFactor.set(speech.asrRealTimeFactor()), 5000);
    asrTimer.unref();
    closers.push(() => clearInterval(asrTimer));
    dialogs = await createFlowDialogFactory({
      onRetry: (kind, flow, lang) => (kind === 'no_input' ? metrics.noInput : metrics.noMatch).inc({ flow, lang }),
      flowsDir: resolve(cwd, config.dialog.flowsDir),
      defaultFlow: config.dialog.defaultFlow,
      defaultLang: config.dialog.defaultLang,
      llm: config.dialog.llm,
      log,
      // A refusal heard in a call (别再打了 / stop calling me) goes on the DNC ledger before the call goes on.
      doNotCall: async (req) => void (await campaigns.recordRefusal(req)),
    });
    const flows = dialogs;
    closers.push(() => flows.close());

    const qaMonitor = createQaMonitor(config.qa, { cwd, store, metrics, log });
    if (qaMonitor && config.qa.webhookUrl) {
      forwardQaHits(qaMonitor, { outbox: store.campaigns, minSeverity: config.qa.webhookMinSeverity, log: log.child({ component: 'qa-webhook' }), poke: () => webhooks.poke() });
    }
    const running = new CallEngine({
      speech,
      speaker,
      dialogs,
      store: store.calls,
      dialogConfig: config.dialog,
      recordingsDir: config.media.record ? recordingsDir : undefined,
      recordingKeyring,
      recordingStorage,
      log,
      // The media wire each PBX uses is one config value; callpilot's own /media socket is `media`.
      metrics: engineMetrics(metrics, (pbx) =>
        pbx === 'asterisk' ? (config.pbx.asterisk?.media ?? 'unknown') : pbx === 'freeswitch' ? (config.pbx.freeswitch?.media ?? 'unknown') : 'media',
      ),
      // The feed sees each event before QA (a final, then its live hit) and each end after it (QA's end-of-call
      // hits, then `call.ended`).
      observer: combineObservers(live, qaMonitor),
    });
    if (qaMonitor) live.followQa(qaMonitor);
    engine = running;
    const runner = new PbxCallRunner({
      engine: running,
      calls: store.calls,
      log,
      admission,
      overflowTarget: config.server.overflowTarget,
      amd: {
        speech,
        speaker,
        policy: (flow, lang) => {
          const definition = dialogs.flow(flow ?? config.dialog.defaultFlow, lang)?.definition;
          return { voicemail: definition?.voicemail, assistant: definition?.assistant };
        },
      },
      metrics: { callFailed: (disposition) => metrics.callsTotal.inc({ disposition }) },
    });
    for (const adapter of adapters) adapter.on('call', (call) => runner.accept(call));
    const placing = adapters.length > 0 ? new OutboundCallService({
          adapters,
          calls: store.calls,
          runner,
          log,
          admission,
          // Early media (空号/关机 announcements, busy tones) is classified by the call's own VAD + ASR + tones.
          earlyMediaMonitor: ({ callId, lang, log: callLog }) =>
            new EarlyMediaClassifier({
              speech,
              callId,
              lang: lang === 'en' ? 'en' : 'zh',
              onError: (err) => callLog.warn({ err }, 'early-media classifier lost its listener; the cause decides'),
            }),
        }) : undefined;
    outbound = placing;
    // Runs after the adapters stopped (closers run last-first): dials they cut short store their outcome.
    if (placing) closers.push(() => withTimeout(placing.settled(), 5000));
    const dialer =
      placing && config.campaigns.enabled
        ? new CampaignDialer({
            store: store.campaigns,
            calls: store.calls,
            placer: placing,
            adapters,
            clock: systemClock,
            // Several nodes share one PostgreSQL store: the trunk's CPS budget lives there.
            sharedPacing: store.backend === 'postgres',
            // Stable across restarts (cluster.nodeId or the host name): this node's own leases are reconciled at once.
            nodeId,
            profiles,
            // server.maxCalls admission: the dialer only fills what inbound calls and its own leave free.
            freeCalls: () => admission.free,
            log: log.child({ component: 'dialer' }),
            leaseMs: config.campaigns.leaseSec * 1000,
            heartbeatMs: config.campaigns.heartbeatSec * 1000,
            tickMs: config.campaigns.tickMs,
            onAttemptStart: campaignMetrics.attemptStarted,
            onAttemptAnswer: campaignMetrics.attemptAnswered,
            onAttemptEnd: campaignMetrics.attemptEnded,
          })
        : undefined;
    let grpcServer: GrpcServer | undefined;
    if (config.grpc.enabled) {
      const originate = placing ? (req: Parameters<OutboundCallService['placeCall']>[0]) => placing.placeCall(req) : undefined;
      const flows = dialogs;
      grpcServer = await startGrpcServer({
        config: config.grpc,
        auth,
        log,
        speech: () => speech,
        admitAsrStream: () => {
          const result = admission.tryAdmit('grpc-asr');
          return result.ok ? { ok: true, release: result.ticket.release } : { ok: false, detail: result.detail };
        },
        calls: () => ({
          originate,
          checkCallTarget: (target) => {
            const verdict = checkCallTarget(flows.flows(), target, { flow: config.dialog.defaultFlow, lang: config.dialog.defaultLang });
            return verdict.ok ? { ok: true } : { ok: false, field: verdict.field, message: verdict.message, valid: verdict.field === 'flow' ? verdict.validFlows : verdict.validLangs };
          },
          liveCall: (callId) => running.liveCall(callId),
          onLiveEvent: (listener) => running.onLiveEvent(listener),
        }),
        readFile: (path) => readFileSync(resolve(cwd, path)),
      });
      const started = grpcServer;
      closers.push(() => started.close());
    }
    if (opts.speech) models.detail = 'speech engine given by the caller';
    else {
      const asr = resolveModel(config.speech.asr.model, { ...modelLookup, env: process.env });
      models.detail = asr.spec?.testOnly
        ? `ASR ${asr.name}: demo model, knows only the demo/flow vocabulary; real calls need a production model (callpilot models pull zh-en)`
        : `ASR ${asr.name}`;
    }
    models.ok = true;
    loaded.resolve(running);
    log.info({ ms: Math.round(performance.now() - loadStarted) }, 'speech models loaded');

    // Legs run at 8 kHz (G.711) or 16 kHz (mod_audio_stream, slin16): warm the rates this site uses.
    const rates: (8000 | 16000)[] = config.pbx.freeswitch || config.pbx.asterisk?.format === 'slin16' ? [8000, 16000] : [8000];
    void warmFlowPrompts(dialogs, speaker, rates, config.dialog.defaultFlow, warming, log);
    advertised ||= url;
    await presence.start();
    closers.push(() => presence.stop());
    // Adapters start after the models: a PBX call must find an engine to run on (and after the server
    // listens: PBXs connect back to our WebSocket routes).
    for (const adapter of adapters) {
      await adapter.start();
      closers.push(() => adapter.stop());
    }
    // Transfers whose verdict the last crash lost: asked of the PBX now, and once more when a transfer that ended just
    // before the crash is past any node's watch (in a cluster a younger one may still be watched by its own node).
    const verdictMs = (config.pbx.freeswitch?.transferVerifyMs ?? 30_000) + 2_000;
    const settleTransfers = (): Promise<void> =>
      settlePendingTransfers(store.calls, adapters, log, { endedBefore: new Date(Date.now() - verdictMs).toISOString() }).then(
        (settled) => {
          if (Object.keys(settled).length > 0) log.warn({ settled }, 'transfers left pending by the last shutdown settled against the PBX');
        },
        (err: unknown) => log.error({ err }, 'settling transfers left pending failed; they stay transfer_pending until the next start'),
      );
    await settleTransfers();
    const settleLater = setTimeout(() => void settleTransfers(), verdictMs);
    settleLater.unref();
    closers.push(() => clearTimeout(settleLater));
    if (dialer) {
      // After the adapters: the dialer first reconciles with the PBX, then dials. Stopped before the adapters close.
      await dialer.start();
      closers.push(() => dialer.stop());
    }
    // First thing on close, while server, adapters and store still work: refuse new calls, end the live ones with
    // reason `shutdown` (clients get `end`, PBX calls go to the overflow target or are hung up) and wait until
    // every end is stored. Only then do the adapters, the server and finally the store close.
    closers.push(async () => {
      // Before the TTS closes under it (closers run last-first): otherwise every prompt left fails with a warning.
      warming.stopped = true;
      admission.startDraining();
      runner.stop();
      await running.shutdown();
      await withTimeout(runner.settled(), 10_000);
    });
    const drain = async (timeoutMs: number = config.server.drainTimeoutMs): Promise<void> => {
      admission.startDraining();
      // No new claims; an attempt claimed but not yet dialled goes back to the campaign for the other nodes.
      if (dialer) await dialer.stop();
      log.info({ calls: running.runningCalls, timeoutMs }, 'draining: new calls are refused, live calls may finish');
      const idle = await running.whenIdle(timeoutMs);
      if (!idle) log.warn({ calls: running.runningCalls }, 'drain timeout: ending the remaining calls with reason shutdown');
      await closeAll();
    };
    log.info({ url, pbx: adapters.map((a) => a.kind), maxCalls }, 'callpilot started');
    return { url, store, engine: running, outbound, campaigns, dialer, metrics, qa: qaMonitor, live, grpc: grpcServer, adapters, auth, admission, drain, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Raised when callpilot must not start as configured (the message says what to do). */
export class StartRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartRefusedError';
  }
}

export const FIRST_TOKEN_COMMAND = 'callpilot tokens create --role admin --name <your name>';

/**
 * Without any token nobody can use the API, and beyond loopback an empty token table would only invite a later
 * "temporarily open" change: refuse, naming the command. On loopback, say how to get in.
 */
async function checkFirstStart(auth: Auth, host: string, log: Logger): Promise<void> {
  if (await auth.tokens.hasUsableToken()) return;
  if (!isLoopback(host)) {
    throw new StartRefusedError(
      `no API token exists and server.host is ${host}, reachable beyond this machine: create the first admin token with \`${FIRST_TOKEN_COMMAND}\` (same config), then start again`,
    );
  }
  log.warn({ command: FIRST_TOKEN_COMMAND }, `no API token yet: run \`${FIRST_TOKEN_COMMAND}\`, then sign in to the console with the token it prints`);
}

export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The webhook sender's non-campaign destinations: the QA hit webhook when configured. */
function qaWebhookChannels(qa: QaConfig): ReadonlyMap<string, { url: string; secret: string }> {
  return qa.webhookUrl && qa.webhookSecret ? new Map([[QA_WEBHOOK_CHANNEL, { url: qa.webhookUrl, secret: qa.webhookSecret }]]) : new Map();
}
