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
}

export type AdmissionResult = { ok: true; ticket: AdmissionTicket } | { ok: false; reason: RefusalReason; detail: string };

export interface CallAdmissionOptions {
  maxCalls: number;
  /** Refuses new calls (reason `overload`) while it is over its limit, before maxCalls is reached. */
  overload?: LoadProbe;
  /** Every refusal, for `callpilot_calls_refused_total{reason}`. */
  onRefused?: (reason: RefusalReason, wire: string) => void;
}

/**
 * How many calls this process takes at once. Every wire (media WebSocket, Asterisk, FreeSWITCH, outbound dialling)
 * asks `tryAdmit()` before a call costs anything and refuses cleanly when it says no; the campaign dialer sizes its
 * pace to `free`. Draining (shutdown) refuses everything new. A measured overload (the ASR falling behind) refuses
 * new calls too, so the calls already up keep their latency; they are never touched.
 */
export class CallAdmission {
  readonly maxCalls: number;
  private active = 0;
  private drainingSince: number | undefined;
  private readonly onRefused?: (reason: RefusalReason, wire: string) => void;
  private readonly overload?: LoadProbe;

  constructor(opts: CallAdmissionOptions) {
    if (!Number.isInteger(opts.maxCalls) || opts.maxCalls < 1) throw new RangeError(`maxCalls must be a positive integer, got ${opts.maxCalls}`);
    this.maxCalls = opts.maxCalls;
    this.onRefused = opts.onRefused;
    this.overload = opts.overload;
  }

  /** Places taken now. */
  get inUse(): number {
    return this.active;
  }

  /** Places a new call could take now (0 while draining or overloaded). */
  get free(): number {
    return this.draining || this.overloadDetail() !== undefined ? 0 : Math.max(0, this.maxCalls - this.active);
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** From now on every new call is refused with reason `draining`. */
  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  /** Takes a place for one call on `wire` (for the refusal metric), or says why not. */
  tryAdmit(wire: string): AdmissionResult {
    if (this.draining) return this.refuse('draining', wire, 'callpilot is shutting down');
    const overloaded = this.overloadDetail();
    if (overloaded !== undefined) return this.refuse('overload', wire, overloaded);
    if (this.active >= this.maxCalls) return this.refuse('capacity', wire, `callpilot is at capacity (server.maxCalls ${this.maxCalls})`);
    this.active++;
    let released = false;
    return {
      ok: true,
      ticket: {
        release: () => {
          if (released) return;
          released = true;
          this.active--;
        },
      },
    };
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
