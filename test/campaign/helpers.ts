import {
  BUILTIN_PROFILES,
  CampaignDialer,
  CampaignService,
  ManualClock,
  type CallPlacer,
  type ComplianceProfile,
  type DialerOptions,
} from '../../src/campaign/index.ts';
import type { OutboundCallOutcome, OutboundCallRequest, PlaceCallHooks } from '../../src/calls/index.ts';
import { openSqliteStore, type CampaignStore, type Store } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

export const log = testLog();

export interface PlacedCall {
  at: number;
  req: OutboundCallRequest;
}

/** What a fake call does: its disposition and how long it lasts on the fake clock. */
export type FakeBehaviour = (req: OutboundCallRequest, n: number) => { disposition: string; answered?: boolean; durationMs: number; slots?: Record<string, string> };

/** A CallPlacer on the injectable clock: calls "last" in simulated time and report what `behaviour` says. */
export class FakePlacer implements CallPlacer {
  readonly placed: PlacedCall[] = [];
  live = 0;
  maxLive = 0;
  /** Tell the dialer about answers (hooks.onAnswer) as a real placer does; off by default, as the tests were written. */
  reportAnswers = false;
  constructor(
    private readonly clock: ManualClock,
    public behaviour: FakeBehaviour = () => ({ disposition: 'completed', answered: true, durationMs: 1000 }),
  ) {}

  async placeCall(req: OutboundCallRequest, hooks?: PlaceCallHooks) {
    const n = this.placed.length;
    this.placed.push({ at: this.clock.now(), req });
    const b = this.behaviour(req, n);
    if (b.answered && this.reportAnswers) hooks?.onAnswer?.({ callId: `call-${n}`, pbxCallId: `pbx-${n}`, at: new Date(this.clock.now()).toISOString() });
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
    const callId = `call-${n}`;
    const startedAt = this.clock.now();
    const outcome = (async (): Promise<OutboundCallOutcome> => {
      await this.clock.sleep(b.durationMs);
      this.live--;
      const endedAt = new Date(this.clock.now()).toISOString();
      return {
        callId,
        telephony: b.answered ? 'answered' : ['busy', 'no-answer', 'unreachable', 'congestion', 'cancelled'].includes(b.disposition) ? (b.disposition as 'busy') : 'failed',
        disposition: b.disposition,
        answeredAt: b.answered ? new Date(startedAt).toISOString() : undefined,
        endedAt,
        slots: b.slots ?? {},
      };
    })();
    return { callId, outcome };
  }
}

export interface World {
  store: Store;
  clock: ManualClock;
  placer: FakePlacer;
  service: CampaignService;
  dialer: CampaignDialer;
  profiles: Record<string, ComplianceProfile>;
}

/** 2026-12-02 10:00 in Shanghai (a Wednesday). */
export const WED_10_SHANGHAI = Date.parse('2026-12-02T02:00:00Z');

export interface WorldOptions extends Partial<DialerOptions> {
  start?: number;
  profiles?: Record<string, ComplianceProfile>;
  /** The campaign store as the dialer sees it (e.g. with slower claims); the world's own store by default. */
  dialerStore?: (store: CampaignStore, clock: ManualClock) => CampaignStore;
}

export function world(opts: WorldOptions = {}): World {
  const store = openSqliteStore(':memory:');
  const clock = new ManualClock(opts.start ?? WED_10_SHANGHAI);
  const placer = new FakePlacer(clock);
  const profiles = opts.profiles ?? BUILTIN_PROFILES;
  const service = new CampaignService({ store: store.campaigns, clock, profiles, callerIdPool: ['+861065529988', '+861065529989'], defaultCountry: 'CN' });
  const { dialerStore, ...dialerOpts } = opts;
  const dialer = new CampaignDialer({
    store: dialerStore ? dialerStore(store.campaigns, clock) : store.campaigns,
    calls: store.calls,
    placer,
    adapters: [],
    clock,
    nodeId: 'test-node',
    profiles,
    freeCalls: () => 10_000 - placer.live,
    log,
    ...dialerOpts,
  });
  return { store, clock, placer, service, dialer, profiles };
}

/** `n` CN mobile numbers, distinct. */
export function numbers(n: number, base = 13800000000): string[] {
  return Array.from({ length: n }, (_, i) => `+86${base + i}`);
}

/** Runs the dialer on the fake clock: a tick every `stepMs` for `ms` of simulated time. */
export async function runFor(w: World, ms: number, stepMs = 100): Promise<void> {
  const end = w.clock.now() + ms;
  while (w.clock.now() < end) {
    await w.dialer.tick();
    await w.clock.advance(stepMs);
  }
}

/** uvu has no rejects(): the promise must reject with a message matching `re`. */
export async function rejects(p: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p();
  } catch (err) {
    if (!re.test((err as Error).message)) throw new Error(`rejected with ${(err as Error).message}, expected ${re}`);
    return;
  }
  throw new Error(`expected a rejection matching ${re}`);
}
