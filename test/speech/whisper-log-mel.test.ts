import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RealDftPower, WhisperLogMel, melCentreHz, slaneyMelFilters } from '../../src/speech/whisper-log-mel.ts';

const RATE = 16000;
const FRAMES = 800;

function tone(hz: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / RATE);
  return out;
}

function column(features: Float32Array, frame: number): number[] {
  return Array.from({ length: 80 }, (_, m) => features[m * FRAMES + frame]!);
}

function argmax(values: number[]): number {
  return values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
}

/** Loudest mel bin of one frame. */
const frameLevel = (features: Float32Array, frame: number): number => Math.max(...column(features, frame));

test('the 400-point DFT is exact: both packed frames match a direct DFT', () => {
  const dft = new RealDftPower();
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const x = Float64Array.from({ length: 400 }, rand);
  const y = Float64Array.from({ length: 400 }, rand);
  const px = new Float64Array(201);
  const py = new Float64Array(201);
  dft.pair(x, y, px, py);
  for (const [signal, power] of [
    [x, px],
    [y, py],
  ] as const) {
    for (let k = 0; k <= 200; k++) {
      let re = 0;
      let im = 0;
      for (let n = 0; n < 400; n++) {
        re += signal[n]! * Math.cos((2 * Math.PI * n * k) / 400);
        im -= signal[n]! * Math.sin((2 * Math.PI * n * k) / 400);
      }
      const direct = re * re + im * im;
      assert.ok(Math.abs(power[k]! - direct) <= 1e-9 * Math.max(1, direct), `bin ${k}: ${power[k]} vs ${direct}`);
    }
  }
});

test('Slaney mel filters: 80 triangles over 0-8 kHz, linear below 1 kHz, area-normalized', () => {
  const filters = slaneyMelFilters();
  assert.is(filters.length, 80);
  const centres = melCentreHz();
  // Linear part: equal spacing of 200/3 Hz per mel, 45.245 mel up to 8 kHz spread over 81 steps.
  assert.ok(Math.abs(centres[1]! - centres[0]! - (centres[2]! - centres[1]!)) < 1e-9);
  assert.ok(centres[79]! < 8000 && centres[79]! > 7500, `last centre ${centres[79]}`);
  // Slaney normalization: every triangle has unit area in Hz (checked where a filter spans many 40 Hz bins).
  for (let m = 50; m < 80; m++) {
    const area = filters[m]!.weights.reduce((a, b) => a + b, 0) * (8000 / 200);
    assert.ok(Math.abs(area - 1) < 0.02, `filter ${m}: area ${area}`);
  }
});

test('shape: 80 x 800 values for 8 s', () => {
  const lm = new WhisperLogMel();
  assert.is(lm.windowSamples, 128000);
  assert.is(lm.compute(tone(440, 2)).length, 80 * 800);
  assert.throws(() => lm.compute(tone(440, 1), new Float32Array(10)), /64000/);
});

test('silence gives the floor value everywhere: log10(1e-10) -> (-10 + 4) / 4', () => {
  const features = new WhisperLogMel().compute(new Float32Array(RATE * 3));
  for (const v of features) assert.is(v, -1.5);
});

test('a pure tone lands in the mel bin whose centre is nearest to it', () => {
  const lm = new WhisperLogMel();
  const centres = melCentreHz();
  for (const hz of [300, 1000, 2500]) {
    const features = lm.compute(tone(hz, 8));
    const bin = argmax(column(features, 400));
    const nearest = argmax(centres.map((c) => -Math.abs(c - hz)));
    assert.is(bin, nearest, `${hz} Hz -> bin ${bin}, nearest centre is bin ${nearest}`);
  }
  assert.is(argmax(column(lm.compute(tone(1000, 8)), 400)), 26);
});

test('dynamic range: values never fall more than 8 log10 units (2 after scaling) below the maximum', () => {
  const audio = new Float32Array(RATE * 8);
  audio.set(tone(1000, 1), RATE * 3);
  const features = new WhisperLogMel().compute(audio);
  let min = Infinity;
  let max = -Infinity;
  for (const v of features) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(Math.abs(min - (max - 2)) < 1e-5, `min ${min}, max ${max}`);
});

test('short audio is padded at the start: the sound sits in the last frames', () => {
  const features = new WhisperLogMel().compute(tone(1000, 1));
  // 1 s = the last 100 frames (frame t is centred on sample 160 t of the 8 s window).
  const quiet = frameLevel(features, 100);
  assert.is(frameLevel(features, 690), quiet, 'frames before the audio are at the floor');
  assert.ok(frameLevel(features, 705) > quiet + 0.5, 'frames inside the audio are loud');
  assert.ok(frameLevel(features, 799) > quiet + 0.5, 'the last frame is inside the audio');
});

test('long audio keeps only its last 8 s', () => {
  const early = new Float32Array(RATE * 10);
  early.set(tone(1000, 1.5), 0);
  const late = new Float32Array(RATE * 10);
  late.set(tone(1000, 1.5), RATE * 8.5);
  const lm = new WhisperLogMel();
  const a = lm.compute(early);
  assert.ok(a.every((v) => v === -1.5), 'a sound more than 8 s before the end is not seen');
  const b = lm.compute(late);
  assert.ok(frameLevel(b, 799) > frameLevel(b, 100) + 0.5, 'a sound at the end is');
});

test('waveform normalization: the level of the input does not change the features', () => {
  const lm = new WhisperLogMel();
  const loud = Float32Array.from(lm.compute(tone(700, 3, 0.8)));
  const soft = lm.compute(tone(700, 3, 0.05));
  for (let i = 0; i < loud.length; i++) assert.ok(Math.abs(loud[i]! - soft[i]!) < 1e-4, `value ${i}: ${loud[i]} vs ${soft[i]}`);
});

/** The audio of test/fixtures/whisper-log-mel/make-golden.py (`test_audio`), sample for sample. */
function goldenAudio(): Float32Array {
  const out = new Float32Array(5 * RATE);
  for (let n = 0; n < out.length; n++) {
    const t = n / RATE;
    const voice = 0.3 * Math.sin(2 * Math.PI * (180 + 40 * t) * t) + 0.1 * Math.sin(2 * Math.PI * 1250 * t);
    out[n] = t < 2.2 || t > 2.9 ? voice : 0;
  }
  return out;
}

test('matches an independent numpy reference (exact rfft, vectorized filters) within 1e-4', () => {
  const golden = JSON.parse(readFileSync(new URL('../fixtures/whisper-log-mel/golden.json', import.meta.url), 'utf8')) as {
    min: number;
    max: number;
    frames: Record<string, number[]>;
  };
  const features = new WhisperLogMel().compute(goldenAudio());
  let worst = 0;
  for (const [frame, values] of Object.entries(golden.frames)) {
    const got = column(features, Number(frame));
    values.forEach((v, m) => (worst = Math.max(worst, Math.abs(got[m]! - v))));
  }
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  assert.ok(Math.abs(Math.min(...features) - golden.min) < 1e-4 && Math.abs(Math.max(...features) - golden.max) < 1e-4);
});

test.run();
