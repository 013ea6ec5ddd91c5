/**
 * The espeak-ng synthesizer compiled to WebAssembly (npm `@echogarden/espeak-ng-emscripten`), driven synchronously.
 * It blocks its thread for the whole sentence, so the engine runs it inside a worker thread (see espeak-worker.ts).
 */

/** The part of the Emscripten module's bound C++ class that we use. */
interface EspeakNgBinding {
  set_voice(name: string): number;
  set_rate(wordsPerMinute: number): number;
  get_samplerate(): number;
  synthesize(text: string, onAudio: (samples: Int16Array, events: unknown[]) => boolean): void;
  list_voices(): Array<{ name: string; identifier: string; languages: Array<{ name: string }> }>;
}

interface EspeakNgModule {
  eSpeakNGWorker: new () => EspeakNgBinding;
  HEAP8: Int8Array;
}

// A variable specifier keeps tsc from demanding type declarations the package does not ship.
const ESPEAK_PACKAGE: string = '@echogarden/espeak-ng-emscripten';

export class EspeakSynthesisError extends Error {
  constructor(message: string, readonly text: string) {
    super(message);
    this.name = 'EspeakSynthesisError';
  }
}

export class EspeakWasm {
  private currentVoice = '';
  private currentRate = 0;
  private readonly chunks: Int16Array[] = [];

  private constructor(
    private readonly module: EspeakNgModule,
    private readonly binding: EspeakNgBinding,
  ) {}

  /** Instantiates the WASM module and loads the 24 MB voice data file that ships next to it. */
  static async load(): Promise<EspeakWasm> {
    const imported = (await import(ESPEAK_PACKAGE)) as { default: () => Promise<EspeakNgModule> };
    const module = await imported.default();
    return new EspeakWasm(module, new module.eSpeakNGWorker());
  }

  get sampleRate(): number {
    return this.binding.get_samplerate();
  }

  /** Size of the WASM linear memory: it only ever grows, so a leak inside espeak shows up here. */
  get heapBytes(): number {
    return this.module.HEAP8.byteLength;
  }

  voiceNames(): string[] {
    return this.binding.list_voices().map((v) => v.identifier);
  }

  synthesize(text: string, voice: string, wordsPerMinute: number): Int16Array {
    if (voice !== this.currentVoice) {
      const status = this.binding.set_voice(voice);
      if (status !== 0) throw new EspeakSynthesisError(`espeak-ng has no voice "${voice}" (status ${status})`, text);
      this.currentVoice = voice;
    }
    if (wordsPerMinute !== this.currentRate) {
      this.binding.set_rate(wordsPerMinute);
      this.currentRate = wordsPerMinute;
    }
    const chunks = this.chunks;
    chunks.length = 0;
    let total = 0;
    // Returning true would ask espeak to abort; the chunks are copies out of the WASM heap, safe to keep.
    this.binding.synthesize(text, (samples) => {
      if (samples.length > 0) {
        chunks.push(samples);
        total += samples.length;
      }
      return false;
    });
    const pcm = new Int16Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      pcm.set(chunk, offset);
      offset += chunk.length;
    }
    chunks.length = 0;
    return pcm;
  }
}
