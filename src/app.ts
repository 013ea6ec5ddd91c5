import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { createHttpServer, type HttpServer } from './api/index.ts';
import { createAuth, type Auth } from './auth/index.ts';
import type { Config } from './config/index.ts';
import { NodePresence } from './cluster/index.ts';
import { CALLPILOT_VERSION } from './core/index.ts';
import { CampaignDialer, CampaignService, loadComplianceProfiles, systemClock } from './campaign/index.ts';
import {
  CallAdmission,
  completeInterruptedCalls,
  defaultMaxCalls,
  engineMetrics,
  OutboundCallService,
  PbxCallRunner,
  readiness,
  runMediaWebSocketCall,
} from './calls/index.ts';
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
  /** Campaign lifecycle, DNC ledger. */
  campaigns: CampaignService;
  /** Dials running campaigns; undefined without a PBX or with campaigns.enabled false. */
  dialer?: CampaignDialer;
  metrics: Metrics;
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
  speech?: SpeechEngine;
  speaker?: Speaker;
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
    const store = await openStore(config.store, { log, cwd, nodeId });
    closers.push(() => store.close());
    const auth = createAuth(store);
    await checkFirstStart(auth, config.server.host, log);
    const interrupted = await store.calls.recoverInterruptedCalls(new Date());
    if (interrupted.length > 0) {
      log.warn({ calls: interrupted.map((c) => c.id) }, 'calls interrupted by the last shutdown were closed');
      const completed = await completeInterruptedCalls(store.calls, interrupted, resolve(cwd, config.store.recordingsDir), log);
      log.warn(completed, 'interrupted calls completed: recording headers repaired, turns restored from their finals');
    }
    const recordingsDir = resolve(cwd, config.store.recordingsDir);
    // Never rejects: folders it cannot read or delete are logged and skipped.
    const sweep = (): void => {
      void sweepRecordings(recordingsDir, config.store.retentionDays, new Date(), { log });
      // Expired console sessions are refused anyway; this only keeps the table small.
      store.tokens.deleteExpiredSessions(new Date().toISOString()).catch((err: unknown) => log.warn({ err }, 'deleting expired sessions failed'));
    };
    sweep();
    const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
    sweepTimer.unref();
    closers.push(() => clearInterval(sweepTimer));

    const metrics = createMetrics();
    const maxCalls = config.server.maxCalls ?? defaultMaxCalls();
    const admission = new CallAdmission({ maxCalls, onRefused: (reason, wire) => metrics.callsRefused.inc({ reason, wire }) });
    const speech: SpeechEngine = opts.speech ?? (await createSpeechEngine(config.speech, { log, modelsRoot: opts.modelsRoot, vadTarget: maxCalls }));
    if (!opts.speech) closers.push(() => speech.close());
    const asrTimer = setInterval(() => metrics.asrRealTimeFactor.set(speech.asrRealTimeFactor()), 5000);
    asrTimer.unref();
    closers.push(() => clearInterval(asrTimer));
    let speaker: Speaker;
    if (opts.speaker) speaker = opts.speaker;
    else {
      const tts: TtsEngine = await createTtsEngine(config.speech.tts, {
        log,
        resolveModelDir: (name) => resolveModel(name, { modelsDir: config.speech.modelsDir, rootDir: opts.modelsRoot }).dir,
      });
      closers.push(() => tts.close());
      speaker = createSpeaker(tts, { cacheSize: config.speech.tts.cacheSize, log, resample: createResampler });
    }
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

    const adapters = await createPbxAdapters(config.pbx, {
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      clock: { callerGapMs: config.media.callerGapMs, deadMediaMs: config.media.deadMediaMs },
      mediaToken: (callKey) => auth.mediaTokens.issue(callKey),
    });
    const runner = new PbxCallRunner({
      engine,
      calls: store.calls,
      log,
      admission,
      overflowTarget: config.server.overflowTarget,
      metrics: { callFailed: (disposition) => metrics.callsTotal.inc({ disposition }) },
    });
    for (const adapter of adapters) adapter.on('call', (call) => runner.accept(call));
    const outbound = adapters.length > 0 ? new OutboundCallService({ adapters, calls: store.calls, runner, log, admission }) : undefined;
    // Runs after the adapters stopped (closers run last-first): dials they cut short store their outcome.
    if (outbound) closers.push(() => withTimeout(outbound.settled(), 5000));
    const profiles = loadComplianceProfiles(resolve(cwd, config.campaigns.profilesFile));
    const campaigns = new CampaignService({
      store: store.campaigns,
      clock: systemClock,
      profiles,
      callerIdPool: config.campaigns.callerIdPool,
      defaultCountry: config.campaigns.defaultCountry,
    });
    const dialer =
      outbound && config.campaigns.enabled && store.backend === 'sqlite'
        ? new CampaignDialer({
            store: store.campaigns,
            calls: store.calls,
            placer: outbound,
            adapters,
            clock: systemClock,
            // Stable across restarts (cluster.nodeId or the host name): this node's own leases are reconciled at once.
            nodeId,
            profiles,
            // server.maxCalls admission: the dialer only fills what inbound calls and its own leave free.
            freeCalls: () => admission.free,
            log: log.child({ component: 'dialer' }),
            leaseMs: config.campaigns.leaseSec * 1000,
            heartbeatMs: config.campaigns.heartbeatSec * 1000,
            tickMs: config.campaigns.tickMs,
          })
        : undefined;

    const mediaRoute = createMediaWebSocketRoute({
      log,
      maxQueuedMs: config.media.maxQueuedMs,
      admit: () => {
        const result = admission.tryAdmit('media');
        return result.ok ? { ok: true, release: result.ticket.release } : { ok: false, detail: result.detail };
      },
      onLeg: (leg, start, release) => runMediaWebSocketCall(engine, leg, start, log, release),
    });
    const routes: WebSocketRoute[] = [mediaRoute, ...adapters.flatMap((a) => a.webSocketRoutes())];

    let advertised = config.cluster.advertiseUrl ?? '';
    const startedAt = new Date().toISOString();
    const presence = new NodePresence({
      nodes: store.nodes,
      calls: store.calls,
      self: () => ({ id: nodeId, address: advertised, version: CALLPILOT_VERSION, capacity: maxCalls, liveCalls: engine.activeCalls, draining: admission.draining, startedAt }),
      heartbeatMs: config.cluster.heartbeatMs,
      deadAfterMs: config.cluster.deadAfterMs,
      log,
    });

    const server: HttpServer = await createHttpServer({
      config: config.server,
      log,
      metrics,
      store,
      webSocketRoutes: routes,
      recordingsDir,
      readiness: () => readiness(adapters, warming, store, admission),
      auth,
      metricsPublic: config.observability.metricsPublic,
      originate: outbound ? (req) => outbound.placeCall(req) : undefined,
      nodes: () => presence.list(),
      campaigns,
    });
    const url = await server.listen();
    // Legs run at 8 kHz (G.711) or 16 kHz (mod_audio_stream, slin16): warm the rates this site uses.
    const rates: (8000 | 16000)[] = config.pbx.freeswitch || config.pbx.asterisk?.format === 'slin16' ? [8000, 16000] : [8000];
    void warmFlowPrompts(dialogs, speaker, rates, config.dialog.defaultFlow, warming, log);
    closers.push(() => server.close());
    advertised ||= url;
    await presence.start();
    closers.push(() => presence.stop());
    // Adapters start after the server listens: PBXs connect back to our WebSocket routes.
    for (const adapter of adapters) {
      await adapter.start();
      closers.push(() => adapter.stop());
    }
    if (dialer) {
      // After the adapters: the dialer first reconciles with the PBX, then dials. Stopped before the adapters close.
      await dialer.start();
      closers.push(() => dialer.stop());
    }
    // First thing on close, while server, adapters and store still work: refuse new calls, end the live ones with
    // reason `shutdown` (clients get `end`, PBX calls go to the overflow target or are hung up) and wait until
    // every end is stored. Only then do the adapters, the server and finally the store close.
    closers.push(async () => {
      admission.startDraining();
      runner.stop();
      await engine.shutdown();
      await withTimeout(runner.settled(), 10_000);
    });
    const drain = async (timeoutMs: number = config.server.drainTimeoutMs): Promise<void> => {
      admission.startDraining();
      log.info({ calls: engine.runningCalls, timeoutMs }, 'draining: new calls are refused, live calls may finish');
      const idle = await engine.whenIdle(timeoutMs);
      if (!idle) log.warn({ calls: engine.runningCalls }, 'drain timeout: ending the remaining calls with reason shutdown');
      await closeAll();
    };
    log.info({ url, pbx: adapters.map((a) => a.kind), maxCalls }, 'callpilot started');
    return { url, store, engine, outbound, campaigns, dialer, metrics, adapters, auth, admission, drain, close: closeAll };
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
