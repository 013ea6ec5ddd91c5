import { availableParallelism } from 'node:os';

/** Calls per CPU core within the latency targets (bench/RESULTS.md: 50 concurrent calls on 2 cores). */
export const CALLS_PER_CORE = 25;

/** server.maxCalls when the config does not set it: the measured level for this machine's cores. */
export function defaultMaxCalls(cores: number = availableParallelism()): number {
  return CALLS_PER_CORE * Math.max(1, cores);
}

export type RefusalReason = 'capacity' | 'draining' | 'overload';

/** A measured load that refuses new calls while it is over its limit (the shared recognizer's backlog). */
export interface LoadProbe {
  /** What is measured, as the refusal detail names it (`ASR backlog`). */
  readonly name: string;
  /** The config key of the limit, named in the refusal detail. */
  readonly setting: string;
  /** Over this many ms new calls are refused. */
  readonly limitMs: number;
  /** The measure now, ms. */
  currentMs(): number;
}

/** A place taken by one call; `release()` frees it (idempotent). */
export interface AdmissionTicket {
  release(): void;
  /**
   * The call's load starts only now (an outbound call was answered after ringing): for the ramp it counts as
   * unproven from here, as a call admitted now would. No-op without a ramp or once released.
   */
  answered?(): void;
}

/**
 * Slow start on new calls (server.rampCalls, server.rampWindowMs). A new call costs the shared ASR nothing until its
 * caller speaks, seconds after it was admitted (the greeting plays first), so the backlog cannot see a burst coming:
 * 50 calls admitted within 2 s on a machine with one core taken were all up before the backlog rose, and broke down
 * together (bench/RESULTS.md, 2026-12-03). So calls admitted within the last `windowMs` ("unproven": their load
 * has not been seen yet) are bounded: at most `calls` of them, or as many as the calls up whose load has been seen
 * (the allowance doubles per window, as a TCP slow start) while the measured backlog stays under half its limit.
 * Over half, the allowance is `calls` shrunk in proportion to the headroom left, none at the limit. With a measure of
 * the ASR's busy share, growth is also held to what fits: calls up using 35 % of the recognizer may be followed by
 * as many again (to 70 %, RAMP_BUSY_TARGET), calls up using 70 % by none, whatever the backlog says yet.
 */
export interface RampOptions {
  /** Unproven calls allowed at once before any load is seen: the burst a node takes at once. */
  calls: number;
  /** How long after its admission (or an outbound call's answer) a call counts as unproven, ms. */
  windowMs: number;
  /**
   * Share of wall time the ASR spent decoding recently (0..1), measured: the calls whose load has been seen may be
   * followed only by as many as fit under RAMP_BUSY_TARGET at the same cost per call.
   */
  busy?: () => number | undefined;
}

/**
 * The ASR's busy share the ramp fills to. A recognizer busy all the time is already behind; the rest is left for
 * callers speaking at the same moment (a burst's callers answer the same greeting together).
 */
export const RAMP_BUSY_TARGET = 0.7;

export type AdmissionResult = { ok: true; ticket: AdmissionTicket } | { ok: false; reason: RefusalReason; detail: string };

export interface CallAdmissionOptions {
  maxCalls: number;
  /** Refuses new calls (reason `overload`) while it is over its limit, before maxCalls is reached. */
  overload?: LoadProbe;
  /** Every refusal, for `callpilot_calls_refused_total{reason}`. */
  onRefused?: (reason: RefusalReason, wire: string) => void;
  /** Bounds calls admitted recently (reason `overload`); absent = no ramp. */
  ramp?: RampOptions;
  /** Monotonic ms clock of the ramp (injectable for tests). */
  now?: () => number;
}

/** One unproven call: when its load started (admission or answer). */
interface Unproven {
  since: number;
}

/**
 * How many calls this process takes at once. Every wire (media WebSocket, Asterisk, FreeSWITCH, outbound dialling)
 * asks `tryAdmit()` before a call costs anything and refuses cleanly when it says no; the campaign dialer sizes its
 * pace to `free`. Draining (shutdown) refuses everything new. A measured overload (the ASR falling behind) refuses
 * new calls too, so the calls already up keep their latency; they are never touched. The ramp (RampOptions) bounds the
 * calls admitted before their load could be measured, so a burst cannot get in ahead of the backlog rising.
 */
export class CallAdmission {
  readonly maxCalls: number;
  private active = 0;
  private drainingSince: number | undefined;
  private readonly onRefused?: (reason: RefusalReason, wire: string) => void;
  private readonly overload?: LoadProbe;
  private readonly ramp?: RampOptions;
  private readonly now: () => number;
  /** Calls up and admitted (or answered) within the ramp window; pruned as they age out. */
  private readonly unproven = new Set<Unproven>();
  /** Outbound calls up and not answered yet: neither unproven nor measured. */
  private ringing = 0;

  constructor(opts: CallAdmissionOptions) {
    if (!Number.isInteger(opts.maxCalls) || opts.maxCalls < 1) throw new RangeError(`maxCalls must be a positive integer, got ${opts.maxCalls}`);
    if (opts.ramp && (!Number.isInteger(opts.ramp.calls) || opts.ramp.calls < 1 || !(opts.ramp.windowMs > 0))) {
      throw new RangeError(`a ramp needs calls >= 1 and windowMs > 0, got ${opts.ramp.calls} and ${opts.ramp.windowMs}`);
    }
    this.maxCalls = opts.maxCalls;
    this.onRefused = opts.onRefused;
    this.overload = opts.overload;
    this.ramp = opts.ramp;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Places taken now. */
  get inUse(): number {
    return this.active;
  }

  /** Places a new call could take now (0 while draining or overloaded; no more than the ramp allows). */
  get free(): number {
    if (this.draining || this.overloadDetail() !== undefined) return 0;
    const places = Math.max(0, this.maxCalls - this.active);
    return this.ramp ? Math.min(places, Math.max(0, this.rampAllowance() - this.unproven.size)) : places;
  }

  /** The ramp now: calls whose load has not been seen yet, and how many of them it allows (undefined: no ramp). */
  get rampState(): { unproven: number; allowance: number } | undefined {
    if (!this.ramp) return undefined;
    const allowance = this.rampAllowance();
    return { unproven: this.unproven.size, allowance };
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** From now on every new call is refused with reason `draining`. */
  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  /**
   * Takes a place for one call on `wire` (for the refusal metric), or says why not. `answerLater`: an outbound call
   * about to ring, which costs the ASR nothing until `ticket.answered()`; the ramp counts it from then.
   */
  tryAdmit(wire: string, opts: { answerLater?: boolean } = {}): AdmissionResult {
    if (this.draining) return this.refuse('draining', wire, 'callpilot is shutting down');
    const overloaded = this.overloadDetail();
    if (overloaded !== undefined) return this.refuse('overload', wire, overloaded);
    if (this.active >= this.maxCalls) return this.refuse('capacity', wire, `callpilot is at capacity (server.maxCalls ${this.maxCalls})`);
    const ramping = this.rampDetail();
    if (ramping !== undefined) return this.refuse('overload', wire, ramping);
    this.active++;
    let released = false;
    const entry: Unproven | undefined = this.ramp ? { since: this.now() } : undefined;
    let ringing = entry !== undefined && opts.answerLater === true;
    if (ringing) this.ringing++;
    else if (entry) this.unproven.add(entry);
    return {
      ok: true,
      ticket: {
        release: () => {
          if (released) return;
          released = true;
          this.active--;
          if (entry) this.unproven.delete(entry);
          if (ringing) this.ringing--;
          ringing = false;
        },
        answered: () => {
          if (released || !entry) return;
          if (ringing) this.ringing--;
          ringing = false;
          entry.since = this.now();
          this.unproven.add(entry);
        },
      },
    };
  }

  /**
   * Unproven calls allowed now: `ramp.calls`, or the calls up whose load has been seen, while the backlog is under
   * half its limit (so each window at most doubles the calls up); over half, `ramp.calls` shrunk in proportion to
   * the headroom left, to none at the limit. Prunes calls that aged out of the window.
   */
  private rampAllowance(): number {
    const ramp = this.ramp!;
    const now = this.now();
    for (const u of this.unproven) if (now - u.since >= ramp.windowMs) this.unproven.delete(u);
    const seen = this.active - this.unproven.size - this.ringing;
    const probe = this.overload;
    const backlog = probe ? probe.currentMs() : 0;
    const half = probe ? probe.limitMs / 2 : 0;
    if (probe && backlog > half) return Math.max(0, Math.floor((ramp.calls * (probe.limitMs - backlog)) / half));
    const doubling = Math.max(ramp.calls, seen);
    const busy = ramp.busy?.();
    // Nothing measured yet (no call up long enough, or no decoding in the window): the slow start alone.
    if (busy === undefined || seen === 0 || !(busy > 0)) return doubling;
    // The busy share is charged to the measured calls only (unproven ones may be speaking already): an overestimate
    // of the cost per call, on the safe side.
    const fit = Math.floor((seen * RAMP_BUSY_TARGET) / busy) - seen;
    return Math.max(0, Math.min(doubling, fit));
  }

  /** Why the ramp refuses a new call now, or undefined when it does not. */
  private rampDetail(): string | undefined {
    if (!this.ramp) return undefined;
    const allowance = this.rampAllowance();
    const unproven = this.unproven.size;
    if (unproven < allowance) return undefined;
    const windowS = Math.round(this.ramp.windowMs / 100) / 10;
    return `callpilot is ramping up: ${unproven} calls admitted in the last ${windowS} s are not measured yet and ${allowance} are allowed (server.rampCalls, server.rampWindowMs)`;
  }

  /** Why the load probe refuses new calls now, or undefined when it does not. */
  private overloadDetail(): string | undefined {
    const probe = this.overload;
    if (!probe) return undefined;
    const current = probe.currentMs();
    if (!(current > probe.limitMs)) return undefined;
    return `callpilot is overloaded: ${probe.name} ${Math.round(current)} ms over the ${probe.limitMs} ms limit (${probe.setting})`;
  }

  private refuse(reason: RefusalReason, wire: string, detail: string): AdmissionResult {
    this.onRefused?.(reason, wire);
    return { ok: false, reason, detail };
  }
}
