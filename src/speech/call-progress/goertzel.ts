/**
 * Goertzel power of single frequencies over one frame: the classic tone detector of telephony (DTMF, SIT, call
 * progress tones). Cheaper than an FFT when only a handful of frequencies matter, and allocation-free per frame.
 */
export class GoertzelBank {
  readonly frequencies: readonly number[];
  private readonly coeffs: Float64Array;
  /** Power per frequency of the last frame, normalised like `frameEnergy` (comparable to it). */
  readonly power: Float64Array;

  constructor(frequencies: readonly number[], sampleRate: number) {
    this.frequencies = frequencies;
    this.coeffs = new Float64Array(frequencies.map((f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate)));
    this.power = new Float64Array(frequencies.length);
  }

  /**
   * Computes every frequency's power over `pcm` and returns the frame's total energy (sum of squares). A pure
   * sine at a bank frequency gives power ~= energy; white noise gives about 2/N of it per frequency.
   */
  run(pcm: Int16Array): number {
    const n = pcm.length;
    let energy = 0;
    for (let i = 0; i < n; i++) energy += pcm[i]! * pcm[i]!;
    for (let k = 0; k < this.coeffs.length; k++) {
      const c = this.coeffs[k]!;
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const s0 = pcm[i]! + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      // |X(f)|^2 scaled by 2/N so that a full-frame sine reports its own energy.
      this.power[k] = ((s1 * s1 + s2 * s2 - c * s1 * s2) * 2) / n;
    }
    return energy;
  }
}

/** Index of the bank frequency with the most power in the last `run()` frame (-1 when all are zero). */
export function strongestBin(bank: GoertzelBank): number {
  let best = -1;
  let bestPower = 0;
  for (let k = 0; k < bank.power.length; k++) {
    const p = bank.power[k]!;
    if (p > bestPower) {
      bestPower = p;
      best = k;
    }
  }
  return best;
}

/** Mean square of a frame in dBFS (-inf for digital silence). */
export function frameDbfs(energy: number, samples: number): number {
  if (energy <= 0 || samples === 0) return -Infinity;
  return 10 * Math.log10(energy / samples / (32768 * 32768));
}
