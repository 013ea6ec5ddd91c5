import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createResampler } from '../../src/media/index.ts';

function tone(rate: number, hz: number, seconds: number, amplitude = 10000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** RMS over the middle of a signal, away from the filter's start-up transient. */
function steadyRms(pcm: Int16Array): number {
  const from = Math.floor(pcm.length / 4);
  const to = Math.floor((pcm.length * 3) / 4);
  let sum = 0;
  for (let i = from; i < to; i++) sum += pcm[i] * pcm[i];
  return Math.sqrt(sum / (to - from));
}

function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

function runChunked(inRate: number, outRate: number, input: Int16Array, chunk: number): Int16Array {
  const resampler = createResampler(inRate, outRate);
  const parts: number[] = [];
  for (let offset = 0; offset < input.length; offset += chunk) {
    parts.push(...resampler.process(input.subarray(offset, offset + chunk)));
  }
  return Int16Array.from(parts);
}

for (const [inRate, outRate] of [
  [8000, 16000],
  [16000, 8000],
  [22050, 8000],
  [22050, 16000],
  [24000, 16000],
] as const) {
  test(`${inRate} -> ${outRate}: a 1 kHz tone passes within 1 dB`, () => {
    const input = tone(inRate, 1000, 0.5);
    const output = runChunked(inRate, outRate, input, (inRate * 20) / 1000);
    const expectedLength = (input.length * outRate) / inRate;
    assert.ok(Math.abs(output.length - expectedLength) <= 1, `length ${output.length} vs ${expectedLength}`);
    const gain = db(steadyRms(output) / steadyRms(input));
    assert.ok(Math.abs(gain) < 1, `gain ${gain.toFixed(2)} dB`);
  });
}

test('16000 -> 8000: a 6 kHz tone is attenuated by at least 40 dB', () => {
  const input = tone(16000, 6000, 0.5);
  const output = runChunked(16000, 8000, input, 320);
  const attenuation = db(steadyRms(input) / Math.max(steadyRms(output), 1e-9));
  assert.ok(attenuation >= 40, `attenuation ${attenuation.toFixed(1)} dB`);
});

test('22050 -> 8000: a 5 kHz tone (would alias to 3 kHz) is attenuated by at least 40 dB', () => {
  const input = tone(22050, 5000, 0.5);
  const output = runChunked(22050, 8000, input, 441);
  const attenuation = db(steadyRms(input) / Math.max(steadyRms(output), 1e-9));
  assert.ok(attenuation >= 40, `attenuation ${attenuation.toFixed(1)} dB`);
});

test('8000 -> 16000: images of a 3 kHz tone (at 5 kHz) are suppressed', () => {
  const output = runChunked(8000, 16000, tone(8000, 3000, 0.5), 160);
  // Project the output onto 5 kHz: the image zero-stuffing would leave there.
  const from = output.length / 4;
  const to = (output.length * 3) / 4;
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += output[i] * Math.cos((2 * Math.PI * 5000 * i) / 16000);
    im += output[i] * Math.sin((2 * Math.PI * 5000 * i) / 16000);
  }
  const imageAmplitude = (2 * Math.hypot(re, im)) / (to - from);
  assert.ok(db(10000 / Math.max(imageAmplitude, 1e-9)) >= 40, `image at ${imageAmplitude.toFixed(1)}`);
});

for (const [inRate, outRate, chunk] of [
  [8000, 16000, 160],
  [16000, 8000, 320],
  [22050, 8000, 441],
  [22050, 16000, 333],
] as const) {
  test(`${inRate} -> ${outRate}: chunked output equals whole-buffer output (no seams)`, () => {
    const input = tone(inRate, 440, 0.3);
    for (let i = 0; i < input.length; i++) input[i] += Math.round(3000 * Math.sin(i * 0.37));
    const whole = Int16Array.from(createResampler(inRate, outRate).process(input));
    const chunked = runChunked(inRate, outRate, input, chunk);
    const odd = runChunked(inRate, outRate, input, 7);
    assert.is(chunked.length, whole.length);
    assert.equal(Array.from(chunked), Array.from(whole));
    assert.equal(Array.from(odd), Array.from(whole));
  });
}

for (const [inRate, outRate] of [
  [8000, 16000],
  [16000, 8000],
  [22050, 16000],
] as const) {
  test(`${inRate} -> ${outRate}: delay is constant and equals delaySamples`, () => {
    const resampler = createResampler(inRate, outRate);
    for (const hz of [300, 1000, 2500]) {
      resampler.reset();
      const output = Int16Array.from(resampler.process(tone(inRate, hz, 0.4)));
      // A linear-phase filter delays every frequency by the same time.
      let worst = 0;
      for (let n = output.length / 4; n < (output.length * 3) / 4; n++) {
        const expected = 10000 * Math.sin((2 * Math.PI * hz * (n - resampler.delaySamples)) / outRate);
        worst = Math.max(worst, Math.abs(output[n] - expected));
      }
      assert.ok(worst < 150, `${hz} Hz: worst deviation ${worst.toFixed(0)} from a tone delayed ${resampler.delaySamples}`);
    }
  });
}

test('reset forgets the stream and the returned view is reused', () => {
  const resampler = createResampler(8000, 16000);
  const loud = new Int16Array(160).fill(20000);
  const first = resampler.process(loud);
  const second = resampler.process(new Int16Array(160));
  assert.is(first.buffer, second.buffer);
  resampler.reset();
  const afterReset = resampler.process(new Int16Array(160));
  assert.ok(afterReset.every((s) => s === 0));
});

test('equal rates pass through', () => {
  const input = tone(16000, 1000, 0.02);
  assert.is(createResampler(16000, 16000).process(input), input);
});

test.run();
