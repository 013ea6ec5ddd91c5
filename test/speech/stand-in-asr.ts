import type { AsrFinal, AsrService, PartialListener } from '../../src/speech/asr-service.ts';

/**
 * A recognizer stand-in for tests of the listening side's timing: the test reports partials through `listener`
 * (stamped with `lastFedMs`, the latest audio it was given) when it chooses; finals answer with `finalText()`.
 */
export class StandInAsr implements AsrService {
  listener: PartialListener | undefined;
  lastFedMs = 0;
  constructor(private readonly finalText: () => string) {}
  open(_id: number, onPartial: PartialListener): void {
    this.listener = onPartial;
  }
  feed(_id: number, _samples: Float32Array, atMs: number): void {
    this.lastFedMs = atMs;
  }
  finalize(): Promise<AsrFinal> {
    return Promise.resolve({ text: this.finalText() });
  }
  close(): void {}
  realTimeFactor(): number {
    return 0;
  }
  backlogMs(): number {
    return 0;
  }
  async shutdown(): Promise<void> {}
}
