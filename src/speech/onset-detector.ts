/**
 * A fast, crude detector of the caller starting to make sound, for barge-in only. Silero confirms speech ~300 ms
 * after its onset (two windows plus its minimum speech length); stopping the bot that late means the caller talks
 * over it for a third of a second. This detector fires after a few loud frames instead, and the turn loop only
 * *pauses* the bot on it: the VAD and the transcript then decide whether the caller really took the turn, and
 * the prompt resumes if not (a cough, a door). Per frame it costs one sum of squares.
 */
export interface OnsetDetectorOptions {
  /** Consecutive loud frames needed (default 3 = 60 ms). */
  frames?: number;
  /** How far above the line's noise floor a frame must be, dB (default 15). */
  aboveFloorDb?: number;
  /** Frames quieter than this never count, dBFS (default -48: soft onsets such as the fricative of 再 sit near -45). */
  minLevelDbfs?: number;
}

const FULL_SCALE_ENERGY = 32768 * 32768;
const STUCK_LOUD_FRAMES = 150; // 3 s

export class OnsetDetector {
  private readonly needed: number;
  private readonly aboveFloor: number;
  private readonly minEnergy: number;
  private floor = 0;
  private loudRun = 0;
  private endedRun = 0;

  constructor(opts: OnsetDetectorOptions = {}) {
    this.needed = opts.frames ?? 3;
    this.aboveFloor = Math.pow(10, (opts.aboveFloorDb ?? 15) / 10);
    this.minEnergy = FULL_SCALE_ENERGY * Math.pow(10, (opts.minLevelDbfs ?? -48) / 10);
  }

  /** Feed one caller frame; true on the frame that completes an onset (once per run of loud frames). */
  push(pcm: Int16Array): boolean {
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
    const energy = pcm.length > 0 ? sum / pcm.length : 0;
    const loud = energy > this.minEnergy && energy > this.floor * this.aboveFloor;
    if (!loud) {
      // The floor falls at once and rises slowly (a time constant of about 2 s) over quiet frames.
      this.floor = energy < this.floor ? energy : this.floor + (energy - this.floor) * 0.01;
      this.endedRun = this.loudRun;
      this.loudRun = 0;
      return false;
    }
    this.endedRun = 0;
    this.loudRun++;
    if (this.loudRun >= STUCK_LOUD_FRAMES) {
      // Loud for seconds on end is the line, not a talker starting: it becomes the new floor.
      this.floor = energy;
      this.loudRun = 0;
    }
    return this.loudRun === this.needed;
  }

  /** Consecutive loud frames up to the last one pushed (0 when it was quiet). */
  get loudFrames(): number {
    return this.loudRun;
  }

  /**
   * When the last frame pushed was quiet, the loud frames just before it: a sound that ended there (0 otherwise).
   * Loud for seconds on end is the line's new floor, not a sound, and ends no run.
   */
  get endedRunFrames(): number {
    return this.endedRun;
  }
}
