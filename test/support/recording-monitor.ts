import type { CallProgressVerdict, EarlyMediaHeard, EarlyMediaMonitor } from '../../src/core/index.ts';

/**
 * An early-media monitor that records what the PBX adapter fed it (frames, signals) and decides only when the
 * test says so: for testing the adapters' wire mechanics apart from the classifier.
 */
export class RecordingMonitor implements EarlyMediaMonitor {
  readonly verdict: Promise<CallProgressVerdict>;
  readonly signals: string[] = [];
  frames = 0;
  loudFrames = 0;
  rates = new Set<number>();
  stopped = false;
  framesAfterStop = 0;
  private resolve!: (v: CallProgressVerdict) => void;

  constructor(private readonly decideAfterFrames?: { frames: number; verdict: CallProgressVerdict }) {
    this.verdict = new Promise((r) => (this.resolve = r));
  }

  onSignal(signal: 'ringing' | 'early_media'): void {
    this.signals.push(signal);
  }

  onAudio(pcm: Int16Array, sampleRate: number): void {
    if (this.stopped) this.framesAfterStop++;
    this.frames++;
    this.rates.add(sampleRate);
    let peak = 0;
    for (let i = 0; i < pcm.length; i++) peak = Math.max(peak, Math.abs(pcm[i]!));
    if (peak > 500) this.loudFrames++;
    if (this.decideAfterFrames && this.frames === this.decideAfterFrames.frames) this.resolve(this.decideAfterFrames.verdict);
  }

  stop(): EarlyMediaHeard {
    this.stopped = true;
    return this.loudFrames > 0 ? 'announcement' : 'none';
  }
}
