import { readFileSync } from 'node:fs';
import wavefile from 'wavefile';
import { createResampler } from '../../media/index.ts';

/** Reads a WAV file (any rate, any bit depth, mono or first channel) as PCM16 at `rate`. */
export function readWavAs(path: string, rate: 8000 | 16000): Int16Array {
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(readFileSync(path));
  } catch (err) {
    throw new Error(`${path}: not a readable WAV file (${(err as Error).message})`, { cause: err });
  }
  wav.toBitDepth('16');
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  const samples = wav.getSamples(false, Int16Array) as unknown as Int16Array | Int16Array[];
  const mono = Array.isArray(samples) ? samples[0]! : fmt.numChannels > 1 ? firstChannel(samples, fmt.numChannels) : samples;
  if (fmt.sampleRate === rate) return Int16Array.from(mono);
  const resampler = createResampler(fmt.sampleRate, rate);
  return Int16Array.from(resampler.process(mono));
}

function firstChannel(interleaved: Int16Array, channels: number): Int16Array {
  const out = new Int16Array(Math.floor(interleaved.length / channels));
  for (let i = 0; i < out.length; i++) out[i] = interleaved[i * channels]!;
  return out;
}
