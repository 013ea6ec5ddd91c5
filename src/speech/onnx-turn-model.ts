/**
 * A Smart Turn-style ONNX model run with onnxruntime-web's WebAssembly backend, in the calling thread (the engine
 * runs it in its own worker: turn-model-client.ts). onnxruntime-web is an optional dependency, imported here only
 * when a model is configured, so `npm start` on defaults never loads it. It is the WASM build because
 * onnxruntime-node's install step downloads binaries from outside the npm registry.
 */
import { readFile } from 'node:fs/promises';
import type * as Ort from 'onnxruntime-web';
import { checkTurnModelContract, TURN_MODEL_FRAMES, TURN_MODEL_MEL_BINS, TurnModelError, TurnModelSkipped, type TurnModel } from './turn-model.ts';
import { WhisperLogMel } from './whisper-log-mel.ts';

/** Time spent in the last run, for the bench and logs. */
export interface TurnModelRunCost {
  featuresMs: number;
  modelMs: number;
}

async function importRuntime(file: string): Promise<typeof Ort> {
  try {
    return await import('onnxruntime-web');
  } catch (err) {
    throw new TurnModelError(
      `speech.endpoint.turnModel.path is set (${file}), but the optional dependency onnxruntime-web cannot be loaded (${(err as Error).message}); install it with \`npm install onnxruntime-web\` or unset the key`,
      file,
    );
  }
}

export class OnnxTurnModel implements TurnModel {
  private readonly mel = new WhisperLogMel(TURN_MODEL_FRAMES);
  private readonly features = new Float32Array(TURN_MODEL_MEL_BINS * TURN_MODEL_FRAMES);
  private readonly tensor: Ort.Tensor;
  private running = false;
  /** Cost of the last run. */
  lastCost: TurnModelRunCost = { featuresMs: 0, modelMs: 0 };

  private constructor(
    private readonly session: Ort.InferenceSession,
    private readonly names: { input: string; output: string },
    ort: typeof Ort,
  ) {
    this.tensor = new ort.Tensor('float32', this.features, [1, TURN_MODEL_MEL_BINS, TURN_MODEL_FRAMES]);
  }

  /** Loads and checks the model file (already known to exist). Throws TurnModelError with the reason. */
  static async load(file: string): Promise<OnnxTurnModel> {
    const ort = await importRuntime(file);
    // One thread: the engine gives the model its own worker, and the machine's cores belong to the calls.
    ort.env.wasm.numThreads = 1;
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(await readFile(file));
    } catch (err) {
      throw new TurnModelError(`speech.endpoint.turnModel.path: ${file} is not a model onnxruntime-web can load: ${(err as Error).message}`, file);
    }
    try {
      return new OnnxTurnModel(session, checkTurnModelContract(file, session.inputMetadata, session.outputMetadata), ort);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  async completeProbability(audio16k: Float32Array, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) throw new TurnModelSkipped('cancelled before it started');
    // The feature buffer is shared with the input tensor: one run at a time.
    if (this.running) throw new Error('turn model is already running');
    this.running = true;
    try {
      const t0 = performance.now();
      this.mel.compute(audio16k, this.features);
      const t1 = performance.now();
      const out = await this.session.run({ [this.names.input]: this.tensor }, [this.names.output]);
      this.lastCost = { featuresMs: t1 - t0, modelMs: performance.now() - t1 };
      const value = out[this.names.output]?.data[0];
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
        throw new Error(`turn model output ${this.names.output} is ${String(value)}, not a probability in 0..1`);
      }
      return value;
    } finally {
      this.running = false;
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
