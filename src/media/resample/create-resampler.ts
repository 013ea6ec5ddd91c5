import { PolyphaseResampler } from './polyphase-resampler.ts';
import type { Resampler, ResamplerQuality } from './resampler.ts';

/** A pass-through for equal rates, so callers need not special-case them. */
class IdentityResampler implements Resampler {
  readonly delaySamples = 0;
  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {}
  process(input: Int16Array): Int16Array {
    return input;
  }
  reset(): void {}
}

/**
 * A streaming anti-aliased resampler (Kaiser-windowed sinc, polyphase) from `inRate` to `outRate`.
 * Any integer rates work; 8000<->16000 and 22050/24000 -> 8000/16000 are the common ones.
 */
export function createResampler(inRate: number, outRate: number, quality?: ResamplerQuality): Resampler {
  if (inRate === outRate) return new IdentityResampler(inRate, outRate);
  return new PolyphaseResampler(inRate, outRate, quality);
}
