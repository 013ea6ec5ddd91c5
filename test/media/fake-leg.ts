import type { Logger } from 'pino';
import { BaseAudioLeg, type CallerClockOptions, type LegCloseReason, type SampleRate } from '../../src/media/index.ts';

/** A transport that records what the base class asks of the wire. */
export class FakeLeg extends BaseAudioLeg {
  readonly written: { at: number; pcm: Int16Array }[] = [];
  flushes = 0;
  closedWith: LegCloseReason | undefined;

  constructor(opts: { sampleRate?: SampleRate; maxQueuedMs?: number; log?: Logger; clock?: CallerClockOptions } = {}) {
    super({ callId: 'fake-call', sampleRate: opts.sampleRate ?? 8000, maxQueuedMs: opts.maxQueuedMs, log: opts.log, clock: opts.clock });
  }

  protected writeFrame(pcm: Int16Array): void {
    this.written.push({ at: performance.now(), pcm: Int16Array.from(pcm) });
  }

  protected flushWire(): void {
    this.flushes++;
  }

  protected async closeWire(reason: LegCloseReason): Promise<void> {
    this.closedWith = reason;
  }

  callerFrame(pcm: Int16Array): void {
    this.deliverFrame(pcm);
  }

  callerDtmf(digit: string): void {
    this.deliverDtmf(digit);
  }

  keepWireAlive(): void {
    this.sendSilenceWhenIdle();
  }

  hangUpFromWire(reason: LegCloseReason): void {
    this.wireClosed(reason);
  }
}

export function ramp(length: number, start = 1): Int16Array {
  return Int16Array.from({ length }, (_, i) => start + i);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
